"""The ``contactkpi`` command line: one module per noun, registered in ``main``."""
