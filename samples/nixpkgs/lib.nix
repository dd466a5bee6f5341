# Helpers for the offline package set: bootstrap tools and the generic
# "package made of host files" builder.  Only Nix builtins are used.
{ system }:

let
  inherit (builtins) attrNames compareVersions concatStringsSep filter head
    match pathExists readDir replaceStrings sort stringLength substring;

  # Bootstrap: the host's static busybox, imported by content.  It is the
  # builder of every derivation ("busybox sh -e script.sh").  It is imported
  # as a directory holding the file "busybox" because busybox picks its applet
  # from the name it is run as: the store file "<hash>-busybox" would not do.
  busyboxBinary = "${hostFiles { from = /usr/bin; names = [ "busybox" ]; name = "bootstrap-busybox"; }}/busybox";

  # patchelf is dynamically linked against the host libc/libstdc++; it runs
  # in the builder because the Nix sandbox is off.  Imported so that a new
  # patchelf changes the derivation hashes.
  patchelfBinary = builtins.path { path = /usr/bin/patchelf; name = "bootstrap-patchelf"; };

  hasPrefix = pre: s: substring 0 (stringLength pre) s == pre;

  # Import the entries `names` of the host directory `from` (and everything
  # below them) into the store as one content-addressed directory.
  # A name also selects its versioned siblings: "libz.so.1" picks
  # libz.so.1 and libz.so.1.2.13, so soname symlinks keep their target.
  hostFiles = { from, names, name }:
    let
      prefix = toString from + "/";
      firstComponent = p: head (builtins.split "/" (substring (stringLength prefix) (stringLength p) p));
      wanted = n: builtins.any (w: n == w || hasPrefix (w + ".") n) names;
      missing = filter (n: !pathExists (from + "/${n}")) names;
    in
      if missing != [ ]
      then throw "offline nixpkgs: host file(s) missing in ${toString from}: ${concatStringsSep " " missing} (see host-packages.txt)"
      else builtins.path {
        path = from;
        inherit name;
        filter = p: _type: wanted (firstComponent p);
      };

  # Highest entry of a host directory whose name matches `regex`
  # (e.g. the .NET runtime version under shared/Microsoft.NETCore.App).
  latestEntry = dir: regex:
    let
      found = filter (n: match regex n != null) (attrNames (readDir dir));
      sorted = sort (a: b: compareVersions a b > 0) found;
    in
      if found == [ ] then throw "offline nixpkgs: nothing matching ${regex} in ${toString dir}"
      else head sorted;

  # Directory that goes on the RUNPATH of packages linking against `pkg`.
  libDir = pkg: "${pkg}/${pkg.libSubdir}";

  # A package built from host files.
  #   copy        list of { to; from; names; } (host files, imported with hostFiles)
  #               or { to; src; } (a store path; a directory is merged into `to`)
  #   libs        packages whose lib directories go on the RUNPATH
  #   interpreter ELF interpreter for dynamic executables (null: leave as is)
  #   patchElf    false: copy files untouched (glibc, gcc lib)
  #   libSubdir   where this package keeps its shared libraries
  #   postInstall shell code run in $out after copying, before patching
  #   allowMissing sonames that may stay unresolved (optional dlopen deps)
  #   name        defaults to "pname-version"
  mkHostPackage =
    { pname, version, name ? "${pname}-${version}", copy ? [ ], libs ? [ ]
    , interpreter ? null, patchElf ? true, libSubdir ? "lib", postInstall ? ""
    , allowMissing ? [ ] }:
    let
      source = c:
        if c ? src then c.src
        else hostFiles {
          inherit (c) from names;
          name = "${name}-host-" + replaceStrings [ "/" ] [ "-" ] c.to;
        };
    in
      derivation {
        inherit system name pname version libSubdir postInstall;
        builder = "${busyboxBinary}";
        args = [ "sh" "-e" ./host-package.sh ];
        patchelf = patchelfBinary;
        # "storepath:destination" pairs
        copies = map (c: "${source c}:${c.to}") copy;
        patchElf = if patchElf then "1" else "";
        interpreter = if interpreter == null then "" else interpreter;
        rpath = concatStringsSep ":" (map libDir libs);
        allowMissing = concatStringsSep " " allowMissing;
      };

  # Like nixpkgs' runCommand: run `buildCommand` (busybox sh) to make $out.
  runCommand = name: buildCommand:
    derivation {
      inherit system name buildCommand;
      builder = "${busyboxBinary}";
      args = [ "sh" "-e" ./run-command.sh ];
    };

in
{
  inherit busyboxBinary patchelfBinary hostFiles latestEntry libDir
    mkHostPackage runCommand;
}
