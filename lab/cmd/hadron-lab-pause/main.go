// Command hadron-lab-pause is the pause container of the lab's real nodes: the process
// that holds a pod's namespaces while its containers come and go. The lab cannot pull
// the upstream pause image, so it builds this one (a static binary) into an image.
// It waits for a signal to end and reaps the zombies of processes re-parented to it
// (it is PID 1 of the pod when the pod shares its process namespace).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
