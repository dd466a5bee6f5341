# An offline, nixpkgs-shaped package set built by Nix from the files of the
# host Debian 12 system (see README.md).  Usage: like nixpkgs,
#   nix-build samples/nixpkgs -A jq
#   (import ./samples/nixpkgs { }).stdenv.cc.cc.lib
#   nix-build samples/nixpkgs --argstr system aarch64-linux -A jq
# system = "aarch64-linux" gives the same attributes made of Debian's arm64
# packages and NuGet's linux-arm64 .NET runtime (fetch-arm64.sh fetches them);
# any other system gives the x86_64 files of the host, as before.
{ system ? builtins.currentSystem, ... }:

let
  inherit (builtins) attrNames filter genList readDir toString;
  hl = import ./lib.nix { inherit system; };
  inherit (hl) mkHostPackage runCommand latestEntry licenses;

  # Where each system's files come from.  The x86_64 values are the literals
  # the set always had (so its store paths stay the same).
  isAarch64 = system == "aarch64-linux";
  arch = if isAarch64 then aarch64 else x86_64;

  x86_64 = {
    hostLib = /usr/lib/x86_64-linux-gnu;
    hostBin = /usr/bin;
    loaderName = "ld-linux-x86-64.so.2";
    libmvec = [ "libmvec.so.1" ];
    strictLoader = "sh ${./strict-loader.sh} lib/ld-linux-x86-64.so.2 x86_64-linux-gnu";
    dotnetRoot = /usr/share/dotnet;
    version = {
      glibc = "2.36"; gcc = "12.2.0"; zlib = "1.2.13"; icu = "72.1"; openssl = "3.0.19";
      keyutils = "1.6.3"; krb5 = "1.20.1"; ncurses = "6.4"; oniguruma = "6.9.8";
      readline = "8.2"; sqlite = "3.40.1";
      busybox = "1.35.0"; bash = "5.2.15"; nano = "7.2"; moreutils = "0.67"; jq = "1.6";
    };
  };

  # aarch64-linux: the files fetch-arm64.sh unpacked from Debian bookworm's arm64
  # .debs (merged /usr, as the host) and NuGet's linux-arm64 runtime packs.  The
  # builders are still the x86_64 bootstrap tools (Nix runs them for
  # aarch64-linux derivations with `extra-platforms = aarch64-linux`, set by
  # scripts/env.sh); the arm64 programs run while building (the loader's
  # self-check, busybox --list) run through the static qemu-aarch64, imported
  # into the store like the other bootstrap tools.
  arm64Dir = ./.arm64;
  arm64 = if builtins.pathExists (arm64Dir + "/stamp") then arm64Dir
    else throw "offline nixpkgs: the aarch64-linux set is made of Debian arm64 packages and the linux-arm64 .NET runtime, which are not fetched yet: run `bash samples/nixpkgs/fetch-arm64.sh` (scripts/install-prerequisites.sh runs it)";
  debVersion = let v = builtins.fromJSON (builtins.readFile (arm64 + "/versions.json")); in
    pkg: v.${pkg} or (throw "offline nixpkgs: ${pkg} is not in .arm64/versions.json (see host-packages-arm64.txt)");
  qemuAarch64 = "${hl.hostFiles { from = /usr/bin; names = [ "qemu-aarch64-static" ]; name = "bootstrap-qemu-aarch64"; }}/qemu-aarch64-static";
  aarch64 = {
    hostLib = arm64 + "/root/usr/lib/aarch64-linux-gnu";
    hostBin = arm64 + "/root/usr/bin";
    loaderName = "ld-linux-aarch64.so.1";
    libmvec = [ ];   # Debian 12 builds no libmvec for arm64
    strictLoader = "sh ${./strict-loader.sh} lib/ld-linux-aarch64.so.1 aarch64-linux-gnu ${qemuAarch64}";
    dotnetRoot = arm64 + "/dotnet";
    version = {
      glibc = debVersion "libc6"; gcc = debVersion "libstdc++6"; zlib = debVersion "zlib1g";
      icu = debVersion "libicu72"; openssl = debVersion "openssl"; keyutils = debVersion "libkeyutils1";
      krb5 = debVersion "libkrb5-3"; ncurses = debVersion "libtinfo6"; oniguruma = debVersion "libonig5";
      readline = debVersion "libreadline8"; sqlite = debVersion "libsqlite3-0";
      busybox = debVersion "busybox-static"; bash = debVersion "bash"; nano = debVersion "nano";
      moreutils = debVersion "moreutils"; jq = debVersion "jq";
    };
  };

  inherit (arch) hostLib hostBin version;

  # nixpkgs' layout: a package's shared libraries are in its own lib/, every
  # dynamic executable has the store loader as interpreter, and every ELF file
  # a RUNPATH to the lib directories it needs (glibc always among them).
  loader = "${glibc}/lib/${arch.loaderName}";
  mkPackage = args: mkHostPackage (args // {
    interpreter = loader;
    libs = (args.libs or [ ]) ++ [ glibc ];
  });

  # --- the C runtime ----------------------------------------------------------
  # The loader is made to search only RUNPATHs (strict-loader.sh); libc and
  # friends get RUNPATH $out/lib, libc.so.6 (an executable too) its own loader.
  glibc = mkHostPackage {
    pname = "glibc"; version = version.glibc;
    interpreter = "$out/lib/${arch.loaderName}";
    copy = [{
      to = "lib"; from = hostLib;
      names = [
        arch.loaderName "libc.so.6" "libm.so.6"
        "libdl.so.2" "libpthread.so.0" "librt.so.1" "libresolv.so.2"
        "libutil.so.1" "libanl.so.1" "libnsl.so.1" "libBrokenLocale.so.1"
        "libthread_db.so.1" "libc_malloc_debug.so.0"
        "libnss_files.so.2" "libnss_dns.so.2" "libnss_compat.so.2" "libnss_hesiod.so.2"
      ] ++ arch.libmvec;
    }];
    postInstall = arch.strictLoader;
  };

  gccLib = mkPackage {
    pname = "gcc"; version = version.gcc; name = "gcc-${version.gcc}-lib";
    copy = [{ to = "lib"; from = hostLib; names = [ "libstdc++.so.6" "libgcc_s.so.1" ]; }];
  };

  # --- libraries ------------------------------------------------------------
  zlib = mkPackage {
    pname = "zlib"; version = version.zlib;
    meta.license = licenses.zlib;
    copy = [{ to = "lib"; from = hostLib; names = [ "libz.so.1" ]; }];
    postInstall = "ln -s libz.so.1 lib/libz.so";
  };

  icu = mkPackage {
    pname = "icu4c"; version = version.icu;
    copy = [{ to = "lib"; from = hostLib; names = [ "libicuuc.so.72" "libicui18n.so.72" "libicudata.so.72" ]; }];
    libs = [ gccLib ];
    # nixpkgs' icu has the unversioned names too (its dotnet adds NEEDED libicuuc.so)
    postInstall = "for l in icuuc icui18n icudata; do ln -s lib$l.so.72 lib/lib$l.so; done";
  };

  # A pkg-config file in $dev naming the library output, as nixpkgs' dev outputs
  # hold one (so dev refers to the libraries, never the other way round).
  pkgConfig = lib: libName: ''
    mkdir -p "$dev/lib/pkgconfig"
    printf 'libdir=%s/lib\nName: ${lib}\nVersion: %s\nLibs: -L%s/lib -l${libName}\n' \
      "${"$"}${lib}Out" "$version" "${"$"}${lib}Out" > "$dev/lib/pkgconfig/${lib}.pc"
  '';

  # nixpkgs' openssl has the outputs bin (first: what `openssl` names, the
  # tool only), dev and out (the libraries), as here; man and doc are left out.
  openssl = mkPackage {
    pname = "openssl"; version = version.openssl;
    meta.license = licenses.asl20;   # OpenSSL 3
    outputs = [ "bin" "dev" "out" ];
    copy = [
      { to = "bin"; from = hostBin; names = [ "openssl" ]; output = "bin"; }
      { to = "lib"; from = hostLib; names = [ "libssl.so.3" "libcrypto.so.3" ]; }
    ];
    postInstall = ''
      ln -s libssl.so.3 lib/libssl.so && ln -s libcrypto.so.3 lib/libcrypto.so
      opensslOut="$out"
    '' + pkgConfig "openssl" "ssl";
  };

  readline = mkPackage {
    pname = "readline"; version = version.readline;
    meta.license = licenses.gpl3Plus;
    copy = [{ to = "lib"; from = hostLib; names = [ "libreadline.so.8" ]; }];
    libs = [ ncurses ];
  };

  # nixpkgs' sqlite: bin (first: the sqlite3 shell), dev, and out with
  # libsqlite3.so (what Microsoft.Data.Sqlite's system provider opens).
  sqlite = mkPackage {
    pname = "sqlite"; version = version.sqlite;
    meta.license = licenses.publicDomain;   # as nixpkgs says it: no SPDX identifier
    outputs = [ "bin" "dev" "out" ];
    copy = [
      { to = "bin"; from = hostBin; names = [ "sqlite3" ]; output = "bin"; }
      { to = "lib"; from = hostLib; names = [ "libsqlite3.so.0" ]; }
    ];
    libs = [ readline ncurses zlib ];
    postInstall = ''
      ln -s libsqlite3.so.0 lib/libsqlite3.so
      sqlite3Out="$out"
    '' + pkgConfig "sqlite3" "sqlite3";
  };

  keyutils = mkPackage {
    pname = "keyutils"; version = version.keyutils;
    copy = [{ to = "lib"; from = hostLib; names = [ "libkeyutils.so.1" ]; }];
  };

  # nixpkgs' krb5: out (first: the tools; here only its documentation), lib
  # (the Kerberos libraries: GSSAPI for .NET's Negotiate auth) and dev.
  krb5 = mkPackage {
    pname = "krb5"; version = version.krb5;
    outputs = [ "out" "lib" "dev" ];
    copy = [{
      to = "lib"; from = hostLib; output = "lib";
      names = [ "libgssapi_krb5.so.2" "libkrb5.so.3" "libk5crypto.so.3" "libcom_err.so.2" "libkrb5support.so.0" ];
    }];
    libs = [ keyutils ];
    postInstall = ''
      ln -s libgssapi_krb5.so.2 "$lib/lib/libgssapi_krb5.so"
      mkdir -p share/doc/krb5
      echo "MIT Kerberos 5 ${version.krb5}: the libraries are in $lib" > share/doc/krb5/README
      gssapiOut="$lib"
    '' + pkgConfig "gssapi" "gssapi_krb5";
  };

  ncurses = mkPackage {
    pname = "ncurses"; version = version.ncurses;
    copy = [
      { to = "lib"; from = hostLib; names = [ "libtinfo.so.6" "libncursesw.so.6" ]; }
      { to = "share/terminfo"; from = /usr/lib/terminfo; names = attrNames (readDir /usr/lib/terminfo); }
    ];
  };

  oniguruma = mkPackage {
    pname = "oniguruma"; version = version.oniguruma;
    meta.license = licenses.bsd2;
    copy = [{ to = "lib"; from = hostLib; names = [ "libonig.so.5" ]; }];
  };

  # --- data -----------------------------------------------------------------
  cacert = mkPackage {
    pname = "nss-cacert"; version = "20230311";
    meta.license = licenses.mpl20;   # NSS's certdata
    copy = [{ to = "etc/ssl/certs"; from = /etc/ssl/certs; names = [ "ca-certificates.crt" ]; }];
    postInstall = ''
      mv etc/ssl/certs/ca-certificates.crt etc/ssl/certs/ca-bundle.crt
      ln -s ca-bundle.crt etc/ssl/certs/ca-certificates.crt
    '';
  };

  iana-etc = mkPackage {
    pname = "iana-etc"; version = "20230316";
    meta.license = licenses.mit;
    copy = [{ to = "etc"; from = /etc; names = [ "services" "protocols" ]; }];
  };

  tzdata = mkPackage {
    pname = "tzdata"; version = "2025b";
    # nixpkgs' list: tzcode is BSD-3-Clause, the data public domain (which has no SPDX identifier)
    meta.license = [ licenses.bsd3 licenses.publicDomain ];
    # everything but "localtime" (a symlink to /etc/localtime)
    copy = [{
      to = "share/zoneinfo"; from = /usr/share/zoneinfo;
      names = filter (n: n != "localtime") (attrNames (readDir /usr/share/zoneinfo));
    }];
  };

  # --- programs -------------------------------------------------------------
  busybox = mkPackage {
    pname = "busybox"; version = version.busybox;
    meta.license = licenses.gpl2Only;
    # x86_64: the bootstrap busybox itself; aarch64: Debian's arm64 busybox-static,
    # whose applet list is read through qemu (the build machine is x86_64)
    copy = if isAarch64 then [{ to = "bin"; from = hostBin; names = [ "busybox" ]; }]
      else [{ to = "bin/busybox"; src = hl.busyboxBinary; }];
    postInstall = ''
      for applet in $(${if isAarch64 then "${qemuAarch64} bin/busybox" else "bin/busybox"} --list); do
        [ -e "bin/$applet" ] || ln -s busybox "bin/$applet"
      done
    '';
  };

  coreutilsCommands = [
    "[" "basename" "base64" "cat" "chgrp" "chmod" "chown" "chroot" "cp" "cut"
    "date" "dd" "df" "dirname" "du" "echo" "env" "expand" "expr" "factor"
    "false" "fold" "groups" "head" "hostid" "id" "link" "ln" "logname" "ls"
    "md5sum" "mkdir" "mkfifo" "mknod" "mktemp" "mv" "nl" "nproc" "od" "paste"
    "printf" "pwd" "readlink" "realpath" "rm" "rmdir" "seq" "sha1sum"
    "sha256sum" "sha512sum" "shuf" "sleep" "sort" "stat" "stty" "sync" "tac"
    "tail" "tee" "test" "timeout" "touch" "tr" "true" "truncate" "tty" "uname"
    "unexpand" "uniq" "unlink" "wc" "who" "whoami" "yes"
  ];

  coreutils = mkPackage {
    pname = "coreutils"; version = "9.1";
    # links to busybox's applets, so busybox's licence (GNU coreutils, which nixpkgs has, is GPL-3.0-or-later)
    meta.license = licenses.gpl2Only;
    postInstall = ''
      mkdir bin
      for c in ${toString coreutilsCommands}; do
        [ -e "${busybox}/bin/$c" ] || { echo "busybox has no applet $c" >&2; exit 1; }
        ln -s ${busybox}/bin/busybox "bin/$c"
      done
    '';
  };

  bashInteractive = mkPackage {
    pname = "bash"; version = version.bash;
    meta.license = licenses.gpl3Plus;
    copy = [{ to = "bin"; from = hostBin; names = [ "bash" ]; }];
    libs = [ ncurses ];
    postInstall = "ln -s bash bin/sh";
  };

  nano = mkPackage {
    pname = "nano"; version = version.nano;
    meta.license = licenses.gpl3Plus;
    copy = [{ to = "bin"; from = hostBin; names = [ "nano" ]; }];
    libs = [ ncurses ];
  };

  moreutils = mkPackage {
    pname = "moreutils"; version = version.moreutils;
    # the C programs of Debian's moreutils (the Perl ones are left out)
    copy = [{
      to = "bin"; from = hostBin;
      names = [ "errno" "ifdata" "ifne" "isutf8" "lckdo" "mispipe" "parallel" "pee" "sponge" ];
    }];
  };

  jq = mkPackage {
    pname = "jq"; version = version.jq;
    meta.license = licenses.mit;
    copy = [
      { to = "bin"; from = hostBin; names = [ "jq" ]; }
      { to = "lib"; from = hostLib; names = [ "libjq.so.1" ]; }
    ];
    libs = [ oniguruma ];
  };

  # --- .NET -----------------------------------------------------------------
  inherit (arch) dotnetRoot;
  # NuGet has no linux-arm64 `dotnet` muxer: arm64 apps start through their
  # apphost, with DOTNET_ROOT=${runtime_10_0}/share/dotnet (no bin/dotnet).
  hasMuxer = !isAarch64;
  muxer = if hasMuxer then [ "dotnet" ] else [ ];
  muxerLink = if hasMuxer then "mkdir bin && ln -s ../share/dotnet/dotnet bin/dotnet\n" else "";
  dotnetVersion = "10\\.0\\.[0-9]+";
  netcoreVersion = latestEntry (dotnetRoot + "/shared/Microsoft.NETCore.App") dotnetVersion;
  aspnetVersion = latestEntry (dotnetRoot + "/shared/Microsoft.AspNetCore.App") dotnetVersion;
  fxrVersion = latestEntry (dotnetRoot + "/host/fxr") dotnetVersion;

  # Patched as nixpkgs' dotnet packaging does: the libraries .NET dlopen()s
  # by name (ICU, Kerberos' GSSAPI, OpenSSL) are added as NEEDED where nixpkgs
  # adds them, then every ELF file gets the store loader and a RUNPATH.
  # nixpkgs hands out wrappers (wrapper.nix): runtime_10_0 and aspnetcore_10_0
  # are "<pname>-wrapped" packages whose share/dotnet and bin/* are symbolic
  # links into the unwrapped runtime's store path, so DOTNET_ROOT crosses store paths.
  wrapDotnet = unwrapped: runCommand "${unwrapped.pname}-wrapped-${unwrapped.version}" ''
    mkdir -p $out/share
    ln -s ${unwrapped}/share/dotnet $out/share/dotnet
    if [ -d ${unwrapped}/bin ]; then
      mkdir $out/bin
      for f in ${unwrapped}/bin/*; do ln -s "$f" $out/bin/; done
    fi
  '' // { inherit unwrapped; inherit (unwrapped) pname version meta; };

  dotnetCorePackages = rec {
    runtime_10_0 = wrapDotnet runtime_10_0-unwrapped;
    aspnetcore_10_0 = wrapDotnet aspnetcore_10_0-unwrapped;

    runtime_10_0-unwrapped = mkPackage {
      pname = "dotnet-runtime"; version = netcoreVersion;
      meta.license = licenses.mit;
      copy = [
        { to = "share/dotnet"; from = dotnetRoot; names = muxer ++ [ "LICENSE.txt" "ThirdPartyNotices.txt" ]; }
        { to = "share/dotnet/host/fxr"; from = dotnetRoot + "/host/fxr"; names = [ fxrVersion ]; }
        { to = "share/dotnet/shared/Microsoft.NETCore.App";
          from = dotnetRoot + "/shared/Microsoft.NETCore.App"; names = [ netcoreVersion ]; }
      ];
      addNeeded = let fx = "share/dotnet/shared/Microsoft.NETCore.App/*"; in [
        { files = "${fx}/libcoreclr.so"; needed = [ "libicui18n.so" "libicuuc.so" ]; }
        { files = "${fx}/libSystem.Globalization.Native.so"; needed = [ "libicui18n.so" "libicuuc.so" ]; }
        { files = "${fx}/libSystem.Net.Security.Native.so"; needed = [ "libgssapi_krb5.so" ]; }
        { files = "${fx}/libSystem.Security.Cryptography.Native.OpenSsl.so"; needed = [ "libssl.so" ]; }
      ];
      libs = [ icu krb5 openssl zlib gccLib ];
      # LTTng tracing provider: needs liblttng-ust.so.0 (nixpkgs' lttng-ust_2_12),
      # which Debian 12 does not have; the runtime only loads it when present.
      postInstall = ''
        rm share/dotnet/shared/Microsoft.NETCore.App/*/libcoreclrtraceptprovider.so
      '' + muxerLink;
    };

    aspnetcore_10_0-unwrapped = mkPackage {
      pname = "aspnetcore-runtime"; version = aspnetVersion;
      meta.license = licenses.mit;
      # The muxer is a real copy: it finds the dotnet root from its own real
      # path.  host/ and Microsoft.NETCore.App are shared with runtime_10_0.
      copy = (if hasMuxer then [{ to = "share/dotnet"; from = dotnetRoot; names = muxer; }] else [ ]) ++ [
        { to = "share/dotnet/shared/Microsoft.AspNetCore.App";
          from = dotnetRoot + "/shared/Microsoft.AspNetCore.App"; names = [ aspnetVersion ]; }
      ];
      libs = [ gccLib ];
      postInstall = ''
        ln -s ${runtime_10_0-unwrapped}/share/dotnet/host share/dotnet/host
        ln -s ${runtime_10_0-unwrapped}/share/dotnet/shared/Microsoft.NETCore.App share/dotnet/shared/
      '' + muxerLink;
    };
  };

  # --- a package with a closure of more than 100 store paths ----------------
  # 120 leaves (leaf n holds n KiB), 12 mids (mid m references leaves
  # 10m+1..10m+10 plus the first two leaves of mid m+1), one root.
  leaves = genList (i: let n = toString (i + 1); in
    runCommand "wide-leaf-${n}-1.0" ''
      mkdir $out
      yes "wide-leaf-${n}" | head -c $((${n} * 1024)) > $out/data.txt
    '') 120;
  leaf = n: builtins.elemAt leaves (n - 1);
  mids = genList (m:
    let
      own = genList (k: leaf (10 * m + k + 1)) 10;
      next = 10 * (if m == 11 then 0 else m + 1);
      shared = [ (leaf (next + 1)) (leaf (next + 2)) ];
    in
      runCommand "wide-mid-${toString (m + 1)}-1.0" ''
        mkdir $out
        for p in ${toString (own ++ shared)}; do echo "$p"; done > $out/leaves
      '') 12;
  widedag = runCommand "wide-dag-1.0" ''
    mkdir $out
    for p in ${toString mids}; do echo "$p"; done > $out/mids
  '';

in
{
  inherit glibc zlib icu openssl keyutils krb5 ncurses oniguruma readline sqlite
    cacert iana-etc tzdata busybox coreutils bashInteractive nano moreutils jq
    dotnetCorePackages widedag;
  # nixpkgs' libkrb5 is krb5's libraries alone
  libkrb5 = krb5.lib;

  # nixpkgs' path to libstdc++/libgcc_s
  stdenv.cc.cc.lib = gccLib;
}
