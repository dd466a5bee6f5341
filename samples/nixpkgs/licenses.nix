# The licences the offline set's meta.license uses, in the shape of nixpkgs' lib/licenses.nix: an attribute
# set per licence with shortName, fullName, free, and spdxId where SPDX has an identifier for it (nixpkgs
# leaves spdxId out for publicDomain, free, unfree and the like, as here).
let
  license = shortName: { spdxId ? null, fullName, free ? true }:
    { inherit shortName fullName free; } // (if spdxId == null then { } else { inherit spdxId; });
in
builtins.mapAttrs license {
  asl20 = { spdxId = "Apache-2.0"; fullName = "Apache License 2.0"; };
  bsd2 = { spdxId = "BSD-2-Clause"; fullName = ''BSD 2-clause "Simplified" License''; };
  bsd3 = { spdxId = "BSD-3-Clause"; fullName = ''BSD 3-clause "New" or "Revised" License''; };
  gpl2Only = { spdxId = "GPL-2.0-only"; fullName = "GNU General Public License v2.0 only"; };
  gpl3Plus = { spdxId = "GPL-3.0-or-later"; fullName = "GNU General Public License v3.0 or later"; };
  mit = { spdxId = "MIT"; fullName = "MIT License"; };
  mpl20 = { spdxId = "MPL-2.0"; fullName = "Mozilla Public License 2.0"; };
  publicDomain = { fullName = "Public Domain"; };
  zlib = { spdxId = "Zlib"; fullName = "zlib License"; };
}
