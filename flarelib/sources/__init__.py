"""Where the data come from and how they are kept: the store every source writes, the build of a store
from a source (`synthetic`, `archive`, `jsoc`), the synthetic teaching world and its bipoles, the JSOC
and HEK clients, the archive's catalogues and window tables, resumable verified downloads, the network
check, FITS reading, and the tables that describe a store."""
