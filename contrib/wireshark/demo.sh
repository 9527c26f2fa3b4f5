#!/usr/bin/env bash
# `make wireshark`: a short chat session on loopback, captured with dumpcap, then opened in
# Wireshark with the chat/1 dissector; without Wireshark or a display, the tshark command that
# reads the capture is printed, and run.
#
# Capturing needs root, or a user in the wireshark group (dpkg-reconfigure wireshark-common).
# CAPTURE=FILE keeps the capture elsewhere than target/chat-demo.pcapng.
set -euo pipefail
cd "$(dirname "$0")/../.."

capture=${CAPTURE:-target/chat-demo.pcapng}
dissector=contrib/wireshark/chat.lua
for tool in dumpcap tshark; do
    command -v "$tool" >/dev/null || {
        echo "make wireshark: $tool is missing (apt-get install tshark)" >&2
        exit 1
    }
done

cargo build --release --quiet
server=target/release/chat-server
client=target/release/chat-client
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# The server on a free port (one of yours may be on 12345); it says which.
"$server" --port 0 >"$work/server.out" 2>"$work/server.log" &
pids+=($!)
until grep -q "Hosting on" "$work/server.out"; do sleep 0.1; done
port=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$work/server.out")

# dumpcap says "File: ..." once it captures.
mkdir -p "$(dirname "$capture")"
dumpcap -i lo -f "tcp port $port" -w "$capture" 2>"$work/dumpcap.log" &
dumpcap=$!
pids+=("$dumpcap")
until grep -q "^File:" "$work/dumpcap.log"; do
    if ! kill -0 "$dumpcap" 2>/dev/null; then
        cat "$work/dumpcap.log" >&2
        echo "make wireshark: dumpcap cannot capture on lo (run as root, or join the wireshark group)" >&2
        exit 1
    fi
    sleep 0.1
done

# Three clients typing with pauses: alice greets, bob answers and sends a file, carol leaves.
printf 'first line\nsecond line\n' >"$work/notes.txt"
join() { # NAME: a client whose typing comes from stdin
    mkdir -p "$work/$1"
    "$client" --port "$port" --name "$1" --downloads "$work/$1" --no-log >"$work/$1.out"
}
{ sleep 1.0; echo "hi bob, hi carol"; sleep 2.5; echo exit; } | join alice &
pids+=($!)
sleep 0.2
{ sleep 1.3; echo "hello alice"; sleep 0.5; echo "/file $work/notes.txt"; sleep 1.0; echo exit; } | join bob &
pids+=($!)
sleep 0.2
{ sleep 2.1; echo "bye all"; echo exit; } | join carol &
pids+=($!)
wait "${pids[@]:2}"
# dumpcap hands packets over every quarter of a second or so: let the last ones come out.
sleep 1
kill -INT "$dumpcap"
wait "$dumpcap" || true

echo "The session is in $capture (server port $port)."
if command -v wireshark >/dev/null && [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    echo "Opening it in Wireshark."
    wireshark -X "lua_script:$dissector" -o tcp.reassemble_out_of_order:TRUE \
        -d "tcp.port==$port,chat" -r "$capture" -Y chat >/dev/null 2>&1 &
    disown
else
    cmd="tshark -X lua_script:$dissector -o tcp.reassemble_out_of_order:TRUE -d tcp.port==$port,chat -r $capture -Y chat"
    echo "Wireshark is not installed, or there is no display. Read it with:"
    echo
    echo "    $cmd"
    echo
    $cmd 2>/dev/null
fi
