"""collabgov: a research compendium for a study of collaborative governance (Ansell & Gash 2008)
for public order and peace in an Indonesian kecamatan, reproducing Kecamatan Pujud, Rokan Hilir."""

__version__ = "0.1.0"

import sys

# jsonschema (used by nbformat, papermill and the site checks) imports ``rfc3987_syntax`` when it is installed
# (nbformat's jsonschema[format-nongpl] brings it), which compiles dozens of grammars at import (2-3 s per
# process measured here) for an 'iri' string format no schema here uses. Marking it absent before anything
# imports jsonschema keeps that cost out of every command, kernel and build worker.
sys.modules.setdefault("rfc3987_syntax", None)
