"""Project-specific lints written as tests (spec 06 §11): the import rules of chapter 02."""
