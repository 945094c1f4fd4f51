// Command etcd is etcd's server, built from go.etcd.io/etcd/server/v3 at the
// version Kubernetes pins (see go.mod). It is the same entry point as the
// upstream etcd binary, linked here so the control plane needs no download.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
