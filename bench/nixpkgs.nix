# The offline package set plus what only the benchmark needs: a closure of more than 1 GiB
# (half random, half text) to measure memory while packing. Built by Nix like the rest.
{ system ? builtins.currentSystem, ... }@args:
let
  base = import ../samples/nixpkgs args;
  helpers = import ../samples/nixpkgs/lib.nix { inherit system; };
in
base // {
  bench-big = helpers.runCommand "bench-big-1.0" ''
    mkdir $out
    for i in 1 2 3 4; do
      dd if=/dev/urandom of=$out/random-$i.bin bs=1048576 count=128 2>/dev/null
      yes "bench line $i: the quick brown fox jumps over the lazy dog, again and again" | head -c 134217728 > $out/text-$i.txt
    done
  '';
}
