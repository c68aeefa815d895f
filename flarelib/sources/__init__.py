"""Where the data come from and how they are kept: the store every source writes, the build of a store
from a source (`synthetic`, from the teaching world of `flarelib.world`; `archive`; `jsoc`), the JSOC
and HEK clients, the archive's catalogues and window tables, the registry of public files, resumable
verified downloads, the network check, FITS reading, and the tables that describe a store."""
