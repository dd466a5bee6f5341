# Resolves package names against a nixpkgs-shaped package set, using Nix builtins only so that
# it works with any set of that shape (real nixpkgs included).
#
#   source     JSON: { "type": "path", "path": "/abs" } | { "type": "channel", "url": "..." }
#                  | { "type": "git", "url": "...", "rev": "..." } | { "type": "searchPath" }
#   system     the Nix system to import the set for, e.g. "x86_64-linux"
#   names      JSON list of { name; output; }: an attribute path ("jq", "xorg.xev", "bashinteractive", "7zz")
#              and which output to take: "default" (what the attribute names, as Nixery does: openssl's
#              "bin") or "lib" (its libraries, as nixpkgs' lib.getLib: "lib" when it has one, else "out")
#
# Returns { missing = [ names ]; notPackages = [ names ]; } when any name fails, without
# instantiating anything; otherwise { packages = [ { name attrPath drvPath storePath outputName storeName license } ] }
# in the order of `names`, where license is the package's meta.license as an SPDX expression, or null (see licenseOf).
# (Not `outPath`: JSON output turns any attribute set with an outPath into that string.)
{ source, system, names }:
let
  src = builtins.fromJSON source;
  wanted = builtins.fromJSON names;

  setPath =
    if src.type == "path" then /. + src.path
    else if src.type == "channel" then builtins.fetchTarball src.url
    else if src.type == "git" then
      builtins.fetchGit ({ url = src.url; } // (if src ? rev then { inherit (src) rev; } else { }))
    else <nixpkgs>;

  # config and overlays are given so that nixpkgs does not read the user's ~/.config/nixpkgs.
  pkgs = import setPath { inherit system; config = { }; overlays = [ ]; };

  upper = [ "A" "B" "C" "D" "E" "F" "G" "H" "I" "J" "K" "L" "M" "N" "O" "P" "Q" "R" "S" "T" "U" "V" "W" "X" "Y" "Z" ];
  lower = [ "a" "b" "c" "d" "e" "f" "g" "h" "i" "j" "k" "l" "m" "n" "o" "p" "q" "r" "s" "t" "u" "v" "w" "x" "y" "z" ];
  toLower = builtins.replaceStrings upper lower;
  hasUpper = s: builtins.match ".*[A-Z].*" s != null;

  # Nixery's rule: image names are lower-case, so a top-level name that is not found is looked
  # up again among the camel-cased top-level attributes (bashinteractive -> bashInteractive).
  # Only at the top level: nested sets often hold keys that differ only in case.
  lowerCaseTopLevel = builtins.listToAttrs (map (k: { name = toLower k; value = k; })
    (builtins.filter hasUpper (builtins.attrNames pkgs)));

  startsWithDigit = s: builtins.match "[0-9].*" s != null;

  # The key to use for `key` in `set`: itself, else "_key" when it starts with a digit
  # (nixpkgs spells 7zz as _7zz), else (top level only) its camel-case spelling.
  pick = set: topLevel: key:
    if builtins.hasAttr key set then key
    else if startsWithDigit key && builtins.hasAttr ("_" + key) set then "_" + key
    else if topLevel && builtins.hasAttr key lowerCaseTopLevel then lowerCaseTopLevel.${key}
    else null;

  # Walks a dotted path; returns { found = true; value; path; } or { found = false; }.
  lookup = name:
    let
      go = set: topLevel: parts: done:
        if parts == [ ] then { found = true; value = set; path = done; }
        else if !(builtins.isAttrs set) then { found = false; }
        else
          let key = pick set topLevel (builtins.head parts);
          in if key == null then { found = false; }
             else go set.${key} false (builtins.tail parts) (done ++ [ key ]);
    in go pkgs true (builtins.filter builtins.isString (builtins.split "\\." name)) [ ];

  results = map (w: { inherit (w) name output; result = lookup w.name; }) wanted;
  isPackage = r: r.result.found && builtins.isAttrs r.result.value && (r.result.value.type or null) == "derivation";

  missing = map (r: r.name) (builtins.filter (r: !r.result.found) results);
  notPackages = map (r: r.name) (builtins.filter (r: r.result.found && !(isPackage r)) results);

  # lib.getLib, without nixpkgs' lib: an attribute that names one output on purpose (outputSpecified, as
  # `openssl.out` is in nixpkgs) is kept; else its "lib" output, else "out", else itself.
  isDerivation = v: builtins.isAttrs v && (v.type or null) == "derivation";
  getLib = p:
    if p.outputSpecified or false then p
    else if p ? lib && isDerivation p.lib then p.lib
    else if p ? out && isDerivation p.out then p.out
    else p;

  # meta.license as an SPDX licence expression, or null when it does not say one: never a guess, and never a
  # failure (meta is not part of the derivation, and a broken meta must not stop the build).
  #   licenses.mit (an attribute set with spdxId)      -> "MIT"
  #   [ licenses.bsd3 licenses.mit ]                    -> "BSD-3-Clause AND MIT" (nixpkgs: parts of the package
  #                                                        are licensed differently, so all of them apply)
  #   an element without spdxId (licenses.free, unfree, publicDomain), an SPDX exception on its own
  #   (licenses.llvm-exception: it belongs after WITH, which a list cannot say), an empty list, a plain string
  #   (legacy free text or short names), anything else            -> null
  # spdxId is taken as it is when it is one SPDX identifier (a trailing + allowed: nixpkgs' older "GPL-2.0+") or
  # "<identifier> WITH <exception>"; anything else in it is not parsed, so it also gives null.
  isSpdxId = s: builtins.match "[A-Za-z0-9][A-Za-z0-9.-]*[+]?" s != null;
  # SPDX exception ids end in -exception[-version] or -note (Linux-syscall-note); the deprecated licence ids
  # "GPL-2.0-with-classpath-exception" and the like are licences.
  isExceptionId = s:
    let l = toLower s;
    in builtins.match "(.*-exception(-.*)?|.*-note)" l != null && builtins.match ".*-with-.*" l == null;
  isLicenceTerm = s:
    let parts = builtins.filter builtins.isString (builtins.split " WITH " s);
    in (builtins.length parts == 1 && isSpdxId s && !(isExceptionId s))
      || (builtins.length parts == 2 && isSpdxId (builtins.head parts) && !(isExceptionId (builtins.head parts))
        && isSpdxId (builtins.elemAt parts 1));
  spdxOf = l:
    if builtins.isAttrs l && l ? spdxId && builtins.isString l.spdxId && isLicenceTerm l.spdxId then l.spdxId else null;
  unique = builtins.foldl' (seen: x: if builtins.elem x seen then seen else seen ++ [ x ]) [ ];
  expressionOf = license:
    if builtins.isList license then
      let ids = map spdxOf license;
      in if ids == [ ] || builtins.elem null ids then null else builtins.concatStringsSep " AND " (unique ids)
    else spdxOf license;
  licenseOf = p:
    let
      meta = if builtins.isAttrs p then p.meta or null else null;
      license = if builtins.isAttrs meta then meta.license or null else null;
      # tryEval catches a throw (or failed assert) anywhere meta's values come from; the checks above keep
      # every other step from failing. The result is a string or null, so forcing it forces all it used.
      tried = builtins.tryEval (expressionOf license);
    in if tried.success && (tried.value == null || builtins.isString tried.value) then tried.value else null;

  describe = r:
    let p = if r.output == "lib" then getLib r.result.value else r.result.value;
    in {
      name = r.name;
      attrPath = builtins.concatStringsSep "." r.result.path;
      drvPath = p.drvPath;
      storePath = p.outPath;
      outputName = p.outputName or "out";
      storeName = p.name;
      # The attribute's meta (what was asked for), which nixpkgs gives every output too.
      license = licenseOf r.result.value;
    };
in
if missing != [ ] || notPackages != [ ] then { inherit missing notPackages; }
else { packages = map describe results; }
