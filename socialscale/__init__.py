"""socialscale: social listening from the command line."""

__version__ = "0.1.0"
USER_AGENT = f"socialscale/{__version__} (+https://github.com/socialscale/socialscale)"
