"""Error codes the cluster registry adds."""

from __future__ import annotations

from garment.platform.errors import define_error

CLUSTER_NOT_FOUND = define_error(
    "CLUSTER_NOT_FOUND",
    404,
    id="Cluster tidak terdaftar.",
    en="The cluster is not registered.",
    action="(Operator-facing) check `garment clusters list`.",
)
