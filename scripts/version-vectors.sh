#!/usr/bin/env bash
# Labels version pairs with the ecosystem's native tool, to regenerate or extend the vectors
# under ../shared/data/versions/ (which the tests read in place).
#
#   scripts/version-vectors.sh dpkg|pypi|maven|rpm < pairs.tsv > labelled.tsv
#
# Input: one `a<TAB>b` pair a line. Output: `a<TAB>op<TAB>b`, op one of < = > or `invalid`.
#   dpkg  : dpkg --compare-versions (Debian's dpkg)
#   pypi  : Python's `packaging` (packaging.version.Version)
#   maven : Maven's ComparableVersion, from the maven-artifact jar of Debian's maven package
#   rpm   : rpm.vercmp through `rpm --eval` (Debian's rpm package, when installed)
set -euo pipefail
tool="${1:-}"
case "$tool" in
  dpkg)
    while IFS=$'\t' read -r a b; do
      if dpkg --compare-versions "$a" lt "$b" 2>/dev/null; then op='<'
      elif dpkg --compare-versions "$a" eq "$b" 2>/dev/null; then op='='
      elif dpkg --compare-versions "$a" gt "$b" 2>/dev/null; then op='>'
      else op='invalid'; fi
      printf '%s\t%s\t%s\n' "$a" "$op" "$b"
    done
    ;;
  pypi)
    python3 -c '
import sys
from packaging.version import InvalidVersion, Version
for line in sys.stdin:
    a, b = line.rstrip("\n").split("\t")
    try:
        va, vb = Version(a), Version(b)
        op = "<" if va < vb else ">" if va > vb else "="
    except InvalidVersion:
        op = "invalid"
    print(f"{a}\t{op}\t{b}")
'
    ;;
  maven)
    jar=$(ls /usr/share/maven/lib/maven-artifact*.jar 2>/dev/null | head -1)
    [ -n "$jar" ] || { echo "maven: install Debian's maven package" >&2; exit 1; }
    src=$(mktemp -d)
    trap 'rm -rf "$src"' EXIT
    cat > "$src/Label.java" <<'JAVA'
import java.io.*;
import org.apache.maven.artifact.versioning.ComparableVersion;
public class Label {
  public static void main(String[] args) throws IOException {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
    for (String line; (line = in.readLine()) != null; ) {
      String[] p = line.split("\t", 2);
      int c = new ComparableVersion(p[0]).compareTo(new ComparableVersion(p[1]));
      System.out.println(p[0] + "\t" + (c < 0 ? "<" : c > 0 ? ">" : "=") + "\t" + p[1]);
    }
  }
}
JAVA
    javac -cp "$jar" -d "$src" "$src/Label.java"
    java -cp "$jar:$src" Label
    ;;
  rpm)
    command -v rpm >/dev/null || { echo "rpm: install Debian's rpm package" >&2; exit 1; }
    while IFS=$'\t' read -r a b; do
      r=$(rpm --eval "%{lua: print(rpm.vercmp('$a', '$b'))}")
      case "$r" in -1) op='<' ;; 0) op='=' ;; 1) op='>' ;; *) op='invalid' ;; esac
      printf '%s\t%s\t%s\n' "$a" "$op" "$b"
    done
    ;;
  *)
    echo "usage: $0 dpkg|pypi|maven|rpm < pairs.tsv" >&2
    exit 2
    ;;
esac
