# Helpers for the offline package set: bootstrap tools and the generic
# "package made of host files" builder.  Only Nix builtins are used.
{ system }:

let
  inherit (builtins) attrNames compareVersions concatStringsSep filter head
    match pathExists readDir replaceStrings sort stringLength substring;

  hostLib = /usr/lib/x86_64-linux-gnu;

  # Bootstrap, as nixpkgs' stdenv starts from its bootstrap-tools: host files
  # imported into the store by content, never run from the host.  Builds run
  # in Nix's sandbox, which holds nothing but the store paths they name.
  #
  # The host's static busybox is the builder of every derivation
  # ("busybox sh -e script.sh").  It is imported as a directory holding the
  # file "busybox" because busybox picks its applet from the name it is run
  # as: the store file "<hash>-busybox" would not do.
  busyboxBinary = "${hostFiles { from = /usr/bin; names = [ "busybox" ]; name = "bootstrap-busybox"; }}/busybox";

  # patchelf is dynamically linked (libc, libstdc++): it runs through the
  # loader of these bootstrap libraries, with --library-path naming them.
  bootstrapLibs = hostFiles {
    from = hostLib;
    names = [ "ld-linux-x86-64.so.2" "libc.so.6" "libm.so.6" "libstdc++.so.6" "libgcc_s.so.1" ];
    name = "bootstrap-libs";
  };
  patchelfBinary = "${hostFiles { from = /usr/bin; names = [ "patchelf" ]; name = "bootstrap-patchelf"; }}/patchelf";

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

  # nixpkgs' lib.getLib: the output that holds a package's libraries ("lib"
  # when it has one, else "out"); a package with several outputs names its
  # first one (often "bin") when interpolated.
  getLib = pkg: pkg.lib or pkg.out or pkg;

  # Directory that goes on the RUNPATH of packages linking against `pkg`.
  libDir = pkg: "${getLib pkg}/lib";

  # A package built from host files (builder: host-package.sh).
  #   outputs     its outputs, as nixpkgs names them: the first is what the
  #               attribute names (openssl's "bin"); "lib", else "out", holds
  #               the shared libraries (nixpkgs' lib.getLib)
  #   copy        list of { to; from; names; output ? "out"; } (host files,
  #               imported with hostFiles) or { to; src; output ? "out"; }
  #               (a store path; a directory is merged into `to`)
  #   libs        packages whose lib directories go on the RUNPATH
  #   interpreter ELF interpreter of dynamic executables (null: the package has none)
  #   addNeeded   list of { files; needed; }: shell globs (relative to $out) whose
  #               files get DT_NEEDED entries added, as nixpkgs' `patchelf --add-needed`
  #   postInstall shell code run in $out after copying, before patching ($bin,
  #               $dev, $lib name the other outputs)
  #   allowMissing sonames that may stay unresolved (optional dlopen deps)
  #   name        defaults to "pname-version"
  #   meta        nixpkgs' meta (here only license, from licenses.nix): kept out of the derivation (see withMeta)
  mkHostPackage =
    { pname, version, name ? "${pname}-${version}", outputs ? [ "out" ], copy ? [ ], libs ? [ ]
    , interpreter ? null, addNeeded ? [ ], postInstall ? "", allowMissing ? [ ], meta ? { } }:
    let
      source = c:
        if c ? src then c.src
        else hostFiles {
          inherit (c) from names;
          name = "${name}-host-" + replaceStrings [ "/" ] [ "-" ] c.to;
        };
    in
      withMeta meta (derivation ({
        inherit system name pname version postInstall;
        builder = busyboxBinary;
        args = [ "sh" "-e" ./host-package.sh ];
        inherit bootstrapLibs patchelfBinary;
        # "storepath:output:destination" triples
        copies = map (c: "${source c}:${c.output or "out"}:${c.to}") copy;
        interpreter = if interpreter == null then "" else interpreter;
        rpath = concatStringsSep ":" (map libDir libs);
        # "glob:soname" pairs
        addNeeded = builtins.concatLists (map (a: map (n: "${a.files}:${n}") a.needed) addNeeded);
        allowMissing = concatStringsSep " " allowMissing;
      } // (if outputs == [ "out" ] then { } else {
        # (only for several outputs: the single-output packages keep their store paths)
        inherit outputs;
        libOutput = if builtins.elem "lib" outputs then "lib" else "out";
      })));

  # meta as nixpkgs' stdenv attaches it: an attribute of the package and of each of its outputs, never an input
  # of the derivation, so it changes no store path. An empty meta leaves the derivation as it is.
  withMeta = meta: drv:
    if meta == { } then drv
    else drv // { inherit meta; } // builtins.listToAttrs (map
      (o: { name = o; value = drv.${o} // { inherit meta; }; })
      (drv.outputs or [ "out" ]));

  # Like nixpkgs' runCommand: run `buildCommand` (busybox sh) to make $out.
  runCommand = name: buildCommand:
    derivation {
      inherit system name buildCommand;
      builder = busyboxBinary;
      args = [ "sh" "-e" ./run-command.sh ];
    };

in
{
  inherit busyboxBinary bootstrapLibs patchelfBinary hostFiles latestEntry getLib libDir
    mkHostPackage runCommand withMeta;
  licenses = import ./licenses.nix;
}
