# Sourced by scripts/study-rerun.sh and scripts/final-plan.sh: a bench run as two shards on two cores, and the
# merge that publishes it. Both need B (the grasp-explorer binary).

# bench_shards OUT LOG ARG...: `$B bench ARG... --shard i/2 --out OUT/shard-i --resume` for i = 0 and 1 side by
# side, logs in LOG0.log and LOG1.log; fails if either shard fails (rerunning resumes both trial by trial).
bench_shards() {
  _sh_out=$1; _sh_log=$2; shift 2  # sh has no locals: names the callers do not use
  _sh_pids=
  for _sh_i in 0 1; do
    $B bench "$@" --shard $_sh_i/2 --out "$_sh_out/shard-$_sh_i" --resume > "$_sh_log$_sh_i.log" 2>&1 &
    _sh_pids="$_sh_pids $!"
  done
  _sh_failed=
  for _sh_p in $_sh_pids; do wait $_sh_p || _sh_failed=1; done
  [ -z "$_sh_failed" ]
}

# publish_merge OUT DEST [FILE...]: merges OUT/shard-0 and OUT/shard-1 into DEST.tmp, copies the FILEs in, then
# replaces DEST, so a failed merge never leaves a half-written DEST.
publish_merge() {
  _sh_out=$1; _sh_dest=$2; shift 2
  rm -rf "$_sh_dest.tmp"
  $B bench merge "$_sh_out/shard-0" "$_sh_out/shard-1" --out "$_sh_dest.tmp"
  for _sh_f in "$@"; do cp "$_sh_f" "$_sh_dest.tmp/"; done
  rm -rf "$_sh_dest"; mv "$_sh_dest.tmp" "$_sh_dest"
}
