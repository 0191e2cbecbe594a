"""collabgov: a research compendium for a study of collaborative governance (Ansell & Gash 2008)
for public order and peace in an Indonesian kecamatan, reproducing Kecamatan Pujud, Rokan Hilir."""

__version__ = "0.1.0"
