"""`python -m socialscale`."""

from socialscale.cli.entry import run

if __name__ == "__main__":
    run()
