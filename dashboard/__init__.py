"""Agentoscope's trace explorer: a Streamlit app over the span store.

Start it with `agentoscope dashboard [--store PATH | --server URL]`, or
`streamlit run <APP_PATH>` with AGENTOSCOPE_STORE / AGENTOSCOPE_SERVER set. Importing this
package does not import Streamlit.
"""

from __future__ import annotations

from pathlib import Path

APP_PATH = Path(__file__).with_name("app.py")

__all__ = ["APP_PATH"]
