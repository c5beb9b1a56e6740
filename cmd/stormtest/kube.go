package main

import (
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/stormtest/stormtest/kube"
	"github.com/stormtest/stormtest/shard"
)

func kubeCommand() *cli.Command {
	return &cli.Command{
		Name:  "kube",
		Usage: "print the Kubernetes manifests that run a profile as N shards (an Indexed Job) and gate the merged run",
		Description: "Prints a ConfigMap with the profile, a ReadWriteMany PersistentVolumeClaim for the results (or\n" +
			"uses --pvc), an Indexed Job of N pods each running `stormtest attack --shards N` (its shard from\n" +
			"JOB_COMPLETION_INDEX) from one --start-at, and a suspended Job running `stormtest gate` over\n" +
			"every shard's file. The comment at the top is the pipeline: apply, wait, release the gate; the\n" +
			"gate Job's success is the answer. Nothing is applied: pipe it to kubectl.\n\n" +
			"Example:\n" +
			"  stormtest kube --shards 8 --profile peak.yaml --target http://orders.staging.svc:8080 \\\n" +
			"    --image registry.example.com/stormtest:0.1.0 --threshold 'verdict!=metastable' > run.yaml",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "shards", Usage: "N: pods that split the run (completions = parallelism = N)", Required: true},
			&cli.StringFlag{Name: "profile", Usage: "built-in profile name or YAML file, embedded in a ConfigMap", Required: true},
			&cli.StringFlag{Name: "target", Usage: "base URL of the service as the pods see it", Required: true},
			&cli.StringFlag{Name: "image", Value: kube.DefaultImage, Usage: "the stormtest image (docker build -t IMG . with the repository's Dockerfile)"},
			&cli.StringFlag{Name: "start-at", Value: "+2m", Usage: "the run's t=0, RFC 3339 or +DURATION from now; leave the pods time to be scheduled and pull the image"},
			&cli.StringFlag{Name: "run-id", Usage: "the run's id (default: from the profile's name and --start-at); names the objects and the results directory"},
			&cli.StringFlag{Name: "namespace", Usage: "namespace of every object (default: kubectl's)"},
			&cli.StringFlag{Name: "pvc", Usage: "an existing PersistentVolumeClaim for the results instead of creating stormtest-results"},
			&cli.StringFlag{Name: "storage-class", Usage: "storage class of the created claim (one that offers ReadWriteMany: NFS, CephFS, EFS, Azure Files, Filestore…)"},
			&cli.StringFlag{Name: "storage", Value: kube.DefaultStorage, Usage: "size of the created claim (about 14 bytes per attempt)"},
			&cli.StringFlag{Name: "node", Usage: "run every pod on this node, so that a ReadWriteOnce claim (--pvc) works without ReadWriteMany storage"},
			&cli.StringFlag{Name: "cpu", Value: kube.DefaultCPU, Usage: "CPU request per shard (no limit: throttling would stall the pacer)"},
			&cli.StringFlag{Name: "memory", Value: kube.DefaultMemory, Usage: "memory request per shard"},
			&cli.StringSliceFlag{Name: "threshold", Usage: "a gate threshold for the final step, such as p99<500ms (repeatable; added to the profile's gate: list)"},
			&cli.BoolFlag{Name: "allow-partial", Usage: "let the gate judge a run with shards missing (it says what share of the load it covers)"},
			&cli.DurationFlag{Name: "max-late", Usage: "how long after --start-at a shard's pod may still start (0: attack's default)"},
			&cli.Float64Flag{Name: "rate-scale", Value: 1, Usage: "multiply every rate of the profile (before it is split over the shards)"},
			&cli.Float64Flag{Name: "time-scale", Value: 1, Usage: "multiply every duration of the profile"},
			&cli.StringFlag{Name: "out", Usage: "file to write (default: standard output)"},
		},
		Action: func(c *cli.Context) error {
			prof, err := loadScaled(c, c.String("profile"))
			if err != nil {
				return err
			}
			start, err := shard.ParseStartAt(c.String("start-at"), time.Now())
			if err != nil {
				return usageError("kube: %v", err)
			}
			m, err := kube.Build(kube.Options{
				Profile: prof, Target: c.String("target"), Shards: c.Int("shards"), Start: start,
				RunID: c.String("run-id"), Image: c.String("image"), Namespace: c.String("namespace"),
				PVC: c.String("pvc"), StorageClass: c.String("storage-class"), Storage: c.String("storage"),
				Node: c.String("node"), CPU: c.String("cpu"), Memory: c.String("memory"),
				Thresholds: c.StringSlice("threshold"), AllowPartial: c.Bool("allow-partial"), MaxLate: c.Duration("max-late"),
			})
			if err != nil {
				return usageError("%v", err)
			}
			data, err := m.YAML()
			if err != nil {
				return cli.Exit(err.Error(), exitFail)
			}
			if err := writeOutput(c, c.String("out"), func(w io.Writer) error {
				_, err := w.Write(data)
				return err
			}); err != nil {
				return err
			}
			if c.String("out") != "" {
				fmt.Fprintf(c.App.ErrWriter, "wrote %s: run %s, %d shards from %s\n", c.String("out"), m.RunID, c.Int("shards"), start.UTC().Format(time.RFC3339))
			}
			return nil
		},
	}
}
