# Runs the GoogleTest binaries built under test/unit as part of the lit suite.
import os
import lit.formats

config.name = "Ingot-Unit"
config.suffixes = []
config.test_source_root = os.path.join(config.ingot_binary_dir, "test", "unit")
config.test_exec_root = config.test_source_root
config.test_format = lit.formats.GoogleTest(".", "Tests")
