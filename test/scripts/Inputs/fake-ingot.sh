#!/bin/sh
# Stand-in for build/bin/ingot in demo.test: every command scripts/demo.sh
# runs, quickly, with `inspect` printing far more than a pipe buffer holds.
out=
prev=
for a in "$@"; do
  [ "$prev" = -o ] && out=$a
  prev=$a
done
case "$1" in
target) if [ "$2" = detect ]; then echo "name: fake" > "$out"; fi ;;
synth) echo fake > "$out" ;;
inspect) seq 1 200000 | sed 's/^/inspect line /' ;;
compile)
  printf '#!/bin/sh\necho "fake binary: $1"\n' > "$out"
  chmod +x "$out"
  ;;
*)
  echo "fake ingot: unexpected command: $*" >&2
  exit 1
  ;;
esac
