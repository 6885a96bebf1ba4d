"""mypyc's class decorator, importable without mypy (the optional compiled build).

`setup.py` compiles the hot core modules with mypyc when `ROLL_MYPYC=1`
(docs/performance.md, "mypyc"). mypyc reads `mypyc_attr` at build time by
its name in `mypy_extensions`, which only the build has; at run time the
decorator must exist but do nothing, in both builds (mypyc calls it on the
classes it leaves as Python classes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_extensions import mypyc_attr as mypyc_attr
else:

    def mypyc_attr(*attrs: str, **kwattrs: Any) -> Any:
        return lambda cls: cls
