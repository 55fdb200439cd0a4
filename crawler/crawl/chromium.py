"""How Chromium is started: headless, quiet, and with no way to the network but vigil's."""

from __future__ import annotations

# A proxy nobody listens on (the discard port), loopback included: a request the browser
# makes without asking page.route (its favicon, say) fails instead of reaching a server
# unarchived. Requests page.route answers never reach the proxy.
DEAD_PROXY = "http://127.0.0.1:9"

BASE_ARGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    "--disable-dev-shm-usage", "--mute-audio", "--disable-features=Translate,MediaRouter",
    f"--proxy-server={DEAD_PROXY}", "--proxy-bypass-list=<-loopback>",
)


def launch_args(max_memory_mb: int) -> list[str]:
    """Chromium's arguments; ``max_memory_mb`` caps each page's JavaScript heap."""
    args = list(BASE_ARGS)
    if max_memory_mb > 0:
        args.append(f"--js-flags=--max-old-space-size={max_memory_mb}")
    return args
