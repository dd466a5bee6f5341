# An offline, nixpkgs-shaped package set built by Nix from the files of the
# host Debian 12 system (see README.md).  Usage: like nixpkgs,
#   nix-build samples/nixpkgs -A jq
#   (import ./samples/nixpkgs { }).stdenv.cc.cc.lib
{ system ? builtins.currentSystem, ... }:

let
  inherit (builtins) attrNames filter genList readDir toString;
  hl = import ./lib.nix { inherit system; };
  inherit (hl) mkHostPackage runCommand latestEntry;

  hostLib = /usr/lib/x86_64-linux-gnu;
  hostBin = /usr/bin;

  # nixpkgs' layout: a package's shared libraries are in its own lib/, every
  # dynamic executable has the store loader as interpreter, and every ELF file
  # a RUNPATH to the lib directories it needs (glibc always among them).
  loader = "${glibc}/lib/ld-linux-x86-64.so.2";
  mkPackage = args: mkHostPackage (args // {
    interpreter = loader;
    libs = (args.libs or [ ]) ++ [ glibc ];
  });

  # --- the C runtime ----------------------------------------------------------
  # The loader is made to search only RUNPATHs (strict-loader.sh); libc and
  # friends get RUNPATH $out/lib, libc.so.6 (an executable too) its own loader.
  glibc = mkHostPackage {
    pname = "glibc"; version = "2.36";
    interpreter = "$out/lib/ld-linux-x86-64.so.2";
    copy = [{
      to = "lib"; from = hostLib;
      names = [
        "ld-linux-x86-64.so.2" "libc.so.6" "libm.so.6" "libmvec.so.1"
        "libdl.so.2" "libpthread.so.0" "librt.so.1" "libresolv.so.2"
        "libutil.so.1" "libanl.so.1" "libnsl.so.1" "libBrokenLocale.so.1"
        "libthread_db.so.1" "libc_malloc_debug.so.0"
        "libnss_files.so.2" "libnss_dns.so.2" "libnss_compat.so.2" "libnss_hesiod.so.2"
      ];
    }];
    postInstall = "sh ${./strict-loader.sh} lib/ld-linux-x86-64.so.2";
  };

  gccLib = mkPackage {
    pname = "gcc"; version = "12.2.0"; name = "gcc-12.2.0-lib";
    copy = [{ to = "lib"; from = hostLib; names = [ "libstdc++.so.6" "libgcc_s.so.1" ]; }];
  };

  # --- libraries ------------------------------------------------------------
  zlib = mkPackage {
    pname = "zlib"; version = "1.2.13";
    copy = [{ to = "lib"; from = hostLib; names = [ "libz.so.1" ]; }];
    postInstall = "ln -s libz.so.1 lib/libz.so";
  };

  icu = mkPackage {
    pname = "icu4c"; version = "72.1";
    copy = [{ to = "lib"; from = hostLib; names = [ "libicuuc.so.72" "libicui18n.so.72" "libicudata.so.72" ]; }];
    libs = [ gccLib ];
    # nixpkgs' icu has the unversioned names too (its dotnet adds NEEDED libicuuc.so)
    postInstall = "for l in icuuc icui18n icudata; do ln -s lib$l.so.72 lib/lib$l.so; done";
  };

  openssl = mkPackage {
    pname = "openssl"; version = "3.0.19";
    copy = [
      { to = "bin"; from = hostBin; names = [ "openssl" ]; }
      { to = "lib"; from = hostLib; names = [ "libssl.so.3" "libcrypto.so.3" ]; }
    ];
    postInstall = "ln -s libssl.so.3 lib/libssl.so && ln -s libcrypto.so.3 lib/libcrypto.so";
  };

  keyutils = mkPackage {
    pname = "keyutils"; version = "1.6.3";
    copy = [{ to = "lib"; from = hostLib; names = [ "libkeyutils.so.1" ]; }];
  };

  # nixpkgs' libkrb5: the Kerberos libraries (GSSAPI for .NET's Negotiate auth)
  libkrb5 = mkPackage {
    pname = "krb5"; version = "1.20.1";
    copy = [{
      to = "lib"; from = hostLib;
      names = [ "libgssapi_krb5.so.2" "libkrb5.so.3" "libk5crypto.so.3" "libcom_err.so.2" "libkrb5support.so.0" ];
    }];
    libs = [ keyutils ];
    postInstall = "ln -s libgssapi_krb5.so.2 lib/libgssapi_krb5.so";
  };

  ncurses = mkPackage {
    pname = "ncurses"; version = "6.4";
    copy = [
      { to = "lib"; from = hostLib; names = [ "libtinfo.so.6" "libncursesw.so.6" ]; }
      { to = "share/terminfo"; from = /usr/lib/terminfo; names = attrNames (readDir /usr/lib/terminfo); }
    ];
  };

  oniguruma = mkPackage {
    pname = "oniguruma"; version = "6.9.8";
    copy = [{ to = "lib"; from = hostLib; names = [ "libonig.so.5" ]; }];
  };

  # --- data -----------------------------------------------------------------
  cacert = mkPackage {
    pname = "nss-cacert"; version = "20230311";
    copy = [{ to = "etc/ssl/certs"; from = /etc/ssl/certs; names = [ "ca-certificates.crt" ]; }];
    postInstall = ''
      mv etc/ssl/certs/ca-certificates.crt etc/ssl/certs/ca-bundle.crt
      ln -s ca-bundle.crt etc/ssl/certs/ca-certificates.crt
    '';
  };

  iana-etc = mkPackage {
    pname = "iana-etc"; version = "20230316";
    copy = [{ to = "etc"; from = /etc; names = [ "services" "protocols" ]; }];
  };

  tzdata = mkPackage {
    pname = "tzdata"; version = "2025b";
    # everything but "localtime" (a symlink to /etc/localtime)
    copy = [{
      to = "share/zoneinfo"; from = /usr/share/zoneinfo;
      names = filter (n: n != "localtime") (attrNames (readDir /usr/share/zoneinfo));
    }];
  };

  # --- programs -------------------------------------------------------------
  busybox = mkPackage {
    pname = "busybox"; version = "1.35.0";
    copy = [{ to = "bin/busybox"; src = hl.busyboxBinary; }];
    postInstall = ''
      for applet in $(bin/busybox --list); do
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
    postInstall = ''
      mkdir bin
      for c in ${toString coreutilsCommands}; do
        [ -e "${busybox}/bin/$c" ] || { echo "busybox has no applet $c" >&2; exit 1; }
        ln -s ${busybox}/bin/busybox "bin/$c"
      done
    '';
  };

  bashInteractive = mkPackage {
    pname = "bash"; version = "5.2.15";
    copy = [{ to = "bin"; from = hostBin; names = [ "bash" ]; }];
    libs = [ ncurses ];
    postInstall = "ln -s bash bin/sh";
  };

  nano = mkPackage {
    pname = "nano"; version = "7.2";
    copy = [{ to = "bin"; from = hostBin; names = [ "nano" ]; }];
    libs = [ ncurses ];
  };

  moreutils = mkPackage {
    pname = "moreutils"; version = "0.67";
    # the C programs of Debian's moreutils (the Perl ones are left out)
    copy = [{
      to = "bin"; from = hostBin;
      names = [ "errno" "ifdata" "ifne" "isutf8" "lckdo" "mispipe" "parallel" "pee" "sponge" ];
    }];
  };

  jq = mkPackage {
    pname = "jq"; version = "1.6";
    copy = [
      { to = "bin"; from = hostBin; names = [ "jq" ]; }
      { to = "lib"; from = hostLib; names = [ "libjq.so.1" ]; }
    ];
    libs = [ oniguruma ];
  };

  # --- .NET -----------------------------------------------------------------
  dotnetRoot = /usr/share/dotnet;
  dotnetVersion = "10\\.0\\.[0-9]+";
  netcoreVersion = latestEntry (dotnetRoot + "/shared/Microsoft.NETCore.App") dotnetVersion;
  aspnetVersion = latestEntry (dotnetRoot + "/shared/Microsoft.AspNetCore.App") dotnetVersion;
  fxrVersion = latestEntry (dotnetRoot + "/host/fxr") dotnetVersion;

  # Patched as nixpkgs' dotnet packaging does: the libraries .NET dlopen()s
  # by name (ICU, Kerberos' GSSAPI, OpenSSL) are added as NEEDED where nixpkgs
  # adds them, then every ELF file gets the store loader and a RUNPATH.
  dotnetCorePackages = rec {
    runtime_10_0 = mkPackage {
      pname = "dotnet-runtime"; version = netcoreVersion;
      copy = [
        { to = "share/dotnet"; from = dotnetRoot; names = [ "dotnet" "LICENSE.txt" "ThirdPartyNotices.txt" ]; }
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
      libs = [ icu libkrb5 openssl zlib gccLib ];
      # LTTng tracing provider: needs liblttng-ust.so.0 (nixpkgs' lttng-ust_2_12),
      # which Debian 12 does not have; the runtime only loads it when present.
      postInstall = ''
        rm share/dotnet/shared/Microsoft.NETCore.App/*/libcoreclrtraceptprovider.so
        mkdir bin && ln -s ../share/dotnet/dotnet bin/dotnet
      '';
    };

    aspnetcore_10_0 = mkPackage {
      pname = "aspnetcore-runtime"; version = aspnetVersion;
      # The muxer is a real copy: it finds the dotnet root from its own real
      # path.  host/ and Microsoft.NETCore.App are shared with runtime_10_0.
      copy = [
        { to = "share/dotnet"; from = dotnetRoot; names = [ "dotnet" ]; }
        { to = "share/dotnet/shared/Microsoft.AspNetCore.App";
          from = dotnetRoot + "/shared/Microsoft.AspNetCore.App"; names = [ aspnetVersion ]; }
      ];
      libs = [ gccLib ];
      postInstall = ''
        ln -s ${runtime_10_0}/share/dotnet/host share/dotnet/host
        ln -s ${runtime_10_0}/share/dotnet/shared/Microsoft.NETCore.App share/dotnet/shared/
        mkdir bin && ln -s ../share/dotnet/dotnet bin/dotnet
      '';
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
  inherit glibc zlib icu openssl keyutils libkrb5 ncurses oniguruma cacert
    iana-etc tzdata busybox coreutils bashInteractive nano moreutils jq
    dotnetCorePackages widedag;
  krb5 = libkrb5;

  # nixpkgs' path to libstdc++/libgcc_s
  stdenv.cc.cc.lib = gccLib;
}
