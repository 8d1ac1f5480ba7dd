# Shared by gpu_check.sh and cpu_check.sh (sourced, not run): `step TITLE COMMAND...` runs
# COMMAND, appends its command line, output and exit status to $REPORT, and sets
# failed=1 when it fails, so that every later step still runs.
failed=0

step() {
  local title=$1; shift
  echo "== $title"
  { echo; echo "## $title"; echo; echo '```'; echo "\$ $*"; } >> "$REPORT"
  local t0=$SECONDS
  "$@" >> "$REPORT" 2>&1
  local rc=$?
  { echo "(exit $rc, $((SECONDS - t0)) s)"; echo '```'; } >> "$REPORT"
  [ $rc -eq 0 ] || { failed=1; echo "   FAILED (exit $rc)"; }
}
