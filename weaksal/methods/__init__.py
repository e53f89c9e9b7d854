"""Training methods by name, each registering one protocol from its own module.

``get_method(name).target(config, run_dir, resume)`` trains and returns the
run's summary (``weaksal train NAME --config configs/...`` calls it); the
entry also carries the method's typed config sections, its shipped files and
roles, and its paper's table rows (see :mod:`weaksal.methods._registry`). A
new method is one module here registering itself, plus a config.
"""

from weaksal.methods._registry import (
    METHODS,
    ROLES,
    Shipped,
    get_method,
    method_config,
    register_method,
    resolved_training_config,
    table_models,
)

__all__ = [
    "METHODS",
    "ROLES",
    "Shipped",
    "get_method",
    "method_config",
    "register_method",
    "resolved_training_config",
    "table_models",
]
