"""The mxhero-unroute lab: a real BIND 9 plus emulated mail platforms on loopback."""
