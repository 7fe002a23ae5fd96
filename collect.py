"""Collect an offline dataset from a jaxcrl env: ``python collect.py --help``."""

from jaxcrl.collect import main

if __name__ == "__main__":
    main()
