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
# instantiating anything; otherwise { packages = [ { name attrPath drvPath storePath outputName storeName } ] } in
# the order of `names`.
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

  describe = r:
    let p = if r.output == "lib" then getLib r.result.value else r.result.value;
    in {
      name = r.name;
      attrPath = builtins.concatStringsSep "." r.result.path;
      drvPath = p.drvPath;
      storePath = p.outPath;
      outputName = p.outputName or "out";
      storeName = p.name;
    };
in
if missing != [ ] || notPackages != [ ] then { inherit missing notPackages; }
else { packages = map describe results; }
