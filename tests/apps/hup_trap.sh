# A shell app with a HUP trap: prints "got HUP" each time SIGHUP reaches it.
trap 'echo "got HUP"' HUP
echo ready
while :; do sleep 0.1; done
