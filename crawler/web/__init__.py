"""The web app `vigil serve` runs: Memento, replay through pywb, and (next) the editors' desk."""
