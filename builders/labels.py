"""The recommended `app.kubernetes.io/*` labels, applied to every object we render."""

from __future__ import annotations

PART_OF = "datafly-signal"
MANAGED_BY = "pulumi"
CUSTOMER_LABEL = "datafly.io/customer"


def common_labels(customer: str, component: str | None = None, name: str | None = None) -> dict[str, str]:
    labels = {
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "app.kubernetes.io/instance": customer,
        CUSTOMER_LABEL: customer,
    }
    if name is not None:
        labels["app.kubernetes.io/name"] = name
    if component is not None:
        labels["app.kubernetes.io/component"] = component
    return labels
