// Package rigdemo is the hwagent part of `make demo`: on the two-node rig it
// runs both nodes' agents, runs hwcheck and prints its report, then pulls
// the serial cable, sets the heartbeat link down and fences node A from
// node B, printing each event of both agents as it happens. It is Linux
// only, like the rig.
package rigdemo
