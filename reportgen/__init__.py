"""reportgen: recurring, trustworthy reports from a YAML spec."""

__version__ = "0.1.0"
