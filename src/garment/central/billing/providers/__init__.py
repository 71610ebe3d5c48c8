"""Payment provider adapters (Xendit, Midtrans, Standard Webhooks, sandbox) behind
`base.PaymentProvider`; `registry.ProviderRegistry` builds them from settings."""
