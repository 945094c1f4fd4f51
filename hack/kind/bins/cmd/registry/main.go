// The CNCF distribution registry (what the registry:2 image runs) with only
// the filesystem storage driver: the kind cluster's local registry, which
// containerd on the node uses as the mirror of the registries the examples
// name (there is no registry these machines can reach). The upstream main
// also links the S3, GCS and Azure drivers, which a local cache never uses.
package main

import (
	"github.com/distribution/distribution/v3/registry"

	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
)

func main() {
	// RootCmd reports its own errors and exits non-zero on failure.
	_ = registry.RootCmd.Execute()
}
