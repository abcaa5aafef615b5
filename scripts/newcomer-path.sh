#!/usr/bin/env bash
# The newcomer's first five minutes, scripted: on a checkout whose jars are built, the README's
# first command starts a broker; `bin/ferry produce` and `bin/ferry consume` in a "second
# terminal" move a message; SIGTERM stops the broker cleanly. Run by .ci/run after the tests.
# Prints "newcomer-path: N passed, N failed" and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
WORK=$(mktemp -d)
PORT=${NEWCOMER_PORT:-19876}
passed=0; failed=0
check() { if eval "$2"; then passed=$((passed + 1)); echo "ok   - $1"; else failed=$((failed + 1)); echo "FAIL - $1"; fi; }

bin/ferry broker --data "$WORK/data" --port "$PORT" > "$WORK/broker.out" 2>&1 &
BROKER=$!
trap 'kill -9 $BROKER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 120); do grep -q "listening on" "$WORK/broker.out" && break; sleep 0.5; done
check "broker prints where it listens and where its data lives" "grep -q 'listening on 127.0.0.1:$PORT' '$WORK/broker.out' && grep -q 'data in $WORK/data' '$WORK/broker.out'"

S="--server 127.0.0.1:$PORT"
echo "hello from the README" | bin/ferry produce $S --topic tour > "$WORK/produce.out" 2> "$WORK/produce.err"
check "produce sends the line and says so" "grep -q 'sent 1, failed 0' '$WORK/produce.err'"
bin/ferry consume $S --topic tour --group newcomer --max 1 --timeout-ms 10000 > "$WORK/consume.out" 2> "$WORK/consume.err"
check "consume prints the body" "grep -qx 'hello from the README' '$WORK/consume.out'"
bin/ferry group describe newcomer $S > "$WORK/group.out" 2>&1
check "group describe shows no lag after the consume" "grep -Eq 'tour +[0-9]+ +1 +1 +0' '$WORK/group.out'"

kill -TERM $BROKER
for _ in $(seq 1 60); do kill -0 $BROKER 2>/dev/null || break; sleep 0.5; done
kill -0 $BROKER 2>/dev/null && kill -9 $BROKER  # still running after 30 s: fail below rather than wait for good
wait $BROKER 2>/dev/null; BROKER_EXIT=$?
check "SIGTERM stops the broker cleanly (exit 0)" "! kill -0 $BROKER 2>/dev/null && grep -q 'stopped cleanly' '$WORK/broker.out' && [ ! -e '$WORK/data/abort' ] && [ $BROKER_EXIT -eq 0 ]"

if [ "$failed" -gt 0 ]; then
  echo "--- broker output"; cat "$WORK/broker.out"; cat "$WORK"/*.err 2>/dev/null
fi
echo "newcomer-path: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
