// Package kube builds the Kubernetes objects that run one stormtest run as N shards and judge
// it: the profile as a ConfigMap, a ReadWriteMany volume for the results, an Indexed Job whose
// pod I runs `stormtest attack --shards N` (I from JOB_COMPLETION_INDEX), and a suspended Job
// that runs `stormtest gate DIR` over every shard once the attack Job has finished, so that its
// exit status is the pipeline's answer.
//
// The objects are k8s.io/api types, rendered by sigs.k8s.io/yaml: nothing here writes YAML by
// hand. Build is pure: it reads no clock and no cluster (the run's start instant is an input),
// so the same Options always give the same manifests.
package kube

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/shard"
)

// Defaults for what Options leaves empty.
const (
	DefaultImage   = "stormtest:latest"
	DefaultStorage = "1Gi"
	// DefaultCPU is one core per shard: a generator paces about 5 k attempts/s per core
	// (README, Performance). There is no CPU limit: CFS throttling would stall the pacer
	// mid-run and the analysis would blame the target.
	DefaultCPU    = "1"
	DefaultMemory = "256Mi"
	// memoryLimit: a generator's memory is the attempts in flight plus one block per file;
	// a limit well above the request stops a leak without killing a healthy run.
	memoryLimit = "1Gi"
	// uid is distroless's nonroot user, which the Dockerfile's image runs as.
	uid int64 = 65532

	// Paths inside the pods.
	profileDir  = "/etc/stormtest"
	profileFile = "profile.yaml"
	resultsDir  = "/results"

	// LabelRun is the label every object of a run carries, with the run id as its value.
	LabelRun = "stormtest.dev/run-id"
)

// Options describe one run on a cluster.
type Options struct {
	Profile *profiles.Profile // validated; marshalled into the ConfigMap
	Target  string            // the URL the pods attack, as seen from inside the cluster
	Shards  int               // N: completions = parallelism = N
	Start   time.Time         // the run's t=0, shared by every shard (--start-at)
	RunID   string            // empty: shard.RunID(profile, Start)
	Image   string            // empty: DefaultImage
	// Namespace of every object; empty leaves it to kubectl's context.
	Namespace string
	// PVC names an existing claim to write results to; empty creates one (ReadWriteMany,
	// Storage, StorageClass).
	PVC          string
	StorageClass string
	Storage      string
	// Node pins every pod to one node (kubernetes.io/hostname), so a ReadWriteOnce claim
	// works where no ReadWriteMany storage exists.
	Node string
	// CPU and Memory are each shard's requests; empty: the defaults.
	CPU, Memory string
	// Thresholds are passed to the gate step as --threshold, on top of the profile's gate:
	// list; AllowPartial as --allow-partial.
	Thresholds   []string
	AllowPartial bool
	// MaxLate is passed to the shards as --max-late (0: attack's default).
	MaxLate time.Duration
}

// Manifests are the objects of one run, in the order they are applied.
type Manifests struct {
	RunID     string
	ConfigMap *corev1.ConfigMap
	PVC       *corev1.PersistentVolumeClaim // nil when Options.PVC names an existing claim
	Attack    *batchv1.Job
	Gate      *batchv1.Job
}

// Build makes the run's objects, or says in one line what is wrong with o.
func Build(o Options) (*Manifests, error) {
	if o.Profile == nil {
		return nil, errors.New("kube: no profile")
	}
	if err := (shard.Part{Index: 0, Count: o.Shards}).Valid(); err != nil {
		return nil, fmt.Errorf("kube: --shards: %w", err)
	}
	if o.Target == "" {
		return nil, errors.New("kube: --target is required: the URL of the service as the pods see it (e.g. http://orders.staging.svc:8080)")
	}
	if o.Start.IsZero() {
		return nil, errors.New("kube: no start instant")
	}
	req := o.Profile.Request
	if req.BodyFile != "" || req.TargetsFile != "" {
		return nil, fmt.Errorf("kube: profile %s reads files beside it (request.body_file or targets_file), which the pods do not have; inline the request or build them into the image", o.Profile.Name)
	}
	// Credentials in request headers would be printed into the ConfigMap, and from there into
	// CI logs and the cluster's etcd.
	if red := o.Profile.Redacted(); !sameYAML(&red, o.Profile) {
		return nil, fmt.Errorf("kube: profile %s sends credentials in request.headers (Authorization, Proxy-Authorization or Cookie), which would be printed into a ConfigMap; remove them", o.Profile.Name)
	}
	prof, err := o.Profile.Marshal()
	if err != nil {
		return nil, fmt.Errorf("kube: %w", err)
	}
	if o.RunID == "" {
		o.RunID = shard.RunID(o.Profile.Name, o.Start)
	}
	if err := shard.CheckRunID(o.RunID); err != nil {
		return nil, fmt.Errorf("kube: %w", err)
	}
	for _, q := range []struct{ flag, v, def string }{{"--storage", o.Storage, DefaultStorage}, {"--cpu", o.CPU, DefaultCPU}, {"--memory", o.Memory, DefaultMemory}} {
		if q.v == "" {
			continue
		}
		if _, err := resource.ParseQuantity(q.v); err != nil {
			return nil, fmt.Errorf("kube: %s %q is not a Kubernetes quantity (such as %s)", q.flag, q.v, q.def)
		}
	}
	o.Image = or(o.Image, DefaultImage)
	o.Storage = or(o.Storage, DefaultStorage)
	o.CPU = or(o.CPU, DefaultCPU)
	o.Memory = or(o.Memory, DefaultMemory)

	name := objectName("stormtest", o.RunID)
	m := &Manifests{RunID: o.RunID}
	m.ConfigMap = &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: o.meta(name + "-profile"),
		Data:       map[string]string{profileFile: string(prof)},
	}
	claim := o.PVC
	if claim == "" {
		claim = "stormtest-results"
		m.PVC = &corev1.PersistentVolumeClaim{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
			ObjectMeta: o.meta(claim),
			Spec: corev1.PersistentVolumeClaimSpec{
				// Every shard's pod writes its file at once, from any node.
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
				Resources: corev1.VolumeResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(o.Storage)},
				},
			},
		}
		delete(m.PVC.Labels, LabelRun) // the claim outlives one run
		if o.StorageClass != "" {
			m.PVC.Spec.StorageClassName = &o.StorageClass
		}
	}

	n := int32(o.Shards)
	indexed := batchv1.IndexedCompletion
	attackArgs := []string{
		"attack", "--quiet",
		"--shards", strconv.Itoa(o.Shards),
		"--start-at", o.Start.UTC().Format(time.RFC3339Nano),
		"--run-id", o.RunID,
		"--profile", profileDir + "/" + profileFile,
		"--target", o.Target,
		// One file per pod: a shard whose pod is replaced writes a second copy beside the
		// first instead of being refused by it, and the merge keeps the complete one.
		"--out", resultsDir + "/shard-$(JOB_COMPLETION_INDEX)-$(POD_NAME).st",
	}
	if o.MaxLate > 0 {
		attackArgs = append(attackArgs, "--max-late", o.MaxLate.String())
	}
	pod := o.podSpec(claim, attackArgs, true)
	m.Attack = &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: o.meta(name),
		Spec: batchv1.JobSpec{
			CompletionMode: &indexed,
			Completions:    &n,
			Parallelism:    &n,
			// A failed shard gets one more pod per shard on average: one that failed before
			// t=0 (a node lost, an image pull) starts in time; one that comes after t=0
			// by more than --max-late refuses to start rather than burst.
			BackoffLimit: &n,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{LabelRun: o.RunID, "app.kubernetes.io/name": "stormtest"}},
				Spec:       pod,
			},
		},
	}

	gateArgs := []string{"gate"}
	for _, t := range o.Thresholds {
		gateArgs = append(gateArgs, "--threshold", t)
	}
	if o.AllowPartial {
		gateArgs = append(gateArgs, "--allow-partial")
	}
	gateArgs = append(gateArgs, "--junit", resultsDir+"/gate.xml", resultsDir)
	one, none, suspend := int32(1), int32(0), true
	m.Gate = &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: o.meta(name + "-gate"),
		Spec: batchv1.JobSpec{
			// Suspended until the attack Job has finished (see the README's pipeline):
			// Kubernetes has no "after this Job" of its own.
			Suspend:     &suspend,
			Completions: &one,
			Parallelism: &one,
			// The gate's exit status is the answer; running it again would not change it.
			BackoffLimit: &none,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{LabelRun: o.RunID, "app.kubernetes.io/name": "stormtest-gate"}},
				Spec:       o.podSpec(claim, gateArgs, false),
			},
		},
	}
	return m, nil
}

// podSpec is the pod both Jobs run: stormtest as a non-root user on a read-only root file
// system, the results volume at /results (the run's own directory of the claim), and for the
// shards the profile and their identity in the environment.
func (o Options) podSpec(claim string, args []string, shardPod bool) corev1.PodSpec {
	no, yes, user := false, true, uid
	c := corev1.Container{
		Name:  "stormtest",
		Image: o.Image,
		Args:  args,
		VolumeMounts: []corev1.VolumeMount{
			// subPath gives the run a directory of its own on a shared claim; the kubelet
			// creates it.
			{Name: "results", MountPath: resultsDir, SubPath: o.RunID},
		},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse(o.CPU),
				corev1.ResourceMemory: resource.MustParse(o.Memory),
			},
			Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(maxQuantity(o.Memory, memoryLimit))},
		},
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             &yes,
			RunAsUser:                &user,
			AllowPrivilegeEscalation: &no,
			ReadOnlyRootFilesystem:   &yes,
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
	}
	vols := []corev1.Volume{{
		Name:         "results",
		VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}},
	}}
	if shardPod {
		c.Env = []corev1.EnvVar{
			// Set by the Job controller in Indexed mode too; declared here so that the
			// $(JOB_COMPLETION_INDEX) in --out expands whatever the controller's version.
			{Name: shard.EnvIndex, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
				FieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}},
			{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		}
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "profile", MountPath: profileDir, ReadOnly: true})
		vols = append(vols, corev1.Volume{
			Name: "profile",
			VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: objectName("stormtest", o.RunID) + "-profile"}}},
		})
	}
	group := uid
	spec := corev1.PodSpec{
		// Never: a failed shard is a new pod with a new name (and a new file), not the same
		// container restarted over its own half-written results.
		RestartPolicy: corev1.RestartPolicyNever,
		// The volume is writable by the nonroot user.
		SecurityContext: &corev1.PodSecurityContext{FSGroup: &group},
		Containers:      []corev1.Container{c},
		Volumes:         vols,
	}
	if o.Node != "" {
		spec.NodeSelector = map[string]string{"kubernetes.io/hostname": o.Node}
	}
	return spec
}

func (o Options) meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:      name,
		Namespace: o.Namespace,
		Labels:    map[string]string{LabelRun: o.RunID, "app.kubernetes.io/managed-by": "stormtest"},
	}
}

// YAML renders the objects as one multi-document stream for kubectl apply -f, after a
// comment with the commands that run and judge it.
func (m *Manifests) YAML() ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# stormtest run %s: %d shards. Generated by `stormtest kube`; apply, wait, then gate:\n", m.RunID, *m.Attack.Spec.Completions)
	for _, line := range m.Pipeline() {
		fmt.Fprintf(&b, "#   %s\n", line)
	}
	objs := []any{m.ConfigMap}
	if m.PVC != nil {
		objs = append(objs, m.PVC)
	}
	objs = append(objs, m.Attack, m.Gate)
	for _, obj := range objs {
		data, err := yaml.Marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("kube: %w", err)
		}
		b.WriteString("---\n")
		b.Write(data)
	}
	return b.Bytes(), nil
}

// Pipeline is the shell that runs the objects and ends with the gate's answer as its exit
// status: apply, wait for the attack Job to end (complete or failed: a failed shard is for
// the gate to name), release the gate Job, print its verdict and succeed only if it did.
func (m *Manifests) Pipeline() []string {
	ns := ""
	if m.Attack.Namespace != "" {
		ns = " -n " + m.Attack.Namespace
	}
	done := `-o jsonpath='{.status.conditions[*].type}' | grep -qE 'Complete|Failed'`
	return []string{
		"kubectl" + ns + " apply -f run.yaml",
		fmt.Sprintf("until kubectl%s get job %s %s; do sleep 5; done", ns, m.Attack.Name, done),
		fmt.Sprintf(`kubectl%s patch job %s --type=merge -p '{"spec":{"suspend":false}}'`, ns, m.Gate.Name),
		fmt.Sprintf("until kubectl%s get job %s %s; do sleep 2; done", ns, m.Gate.Name, done),
		fmt.Sprintf("kubectl%s logs job/%s", ns, m.Gate.Name),
		fmt.Sprintf("kubectl%s get job %s -o jsonpath='{.status.succeeded}' | grep -qx 1", ns, m.Gate.Name),
	}
}

// objectName joins prefix and the run id into a valid object name (at most 63 characters,
// leaving room for the "-profile" and "-gate" suffixes and the pods' index and hash).
func objectName(prefix, runID string) string {
	n := prefix + "-" + runID
	if len(n) > 40 {
		n = strings.TrimRight(n[:40], "-")
	}
	return n
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// maxQuantity is the larger of two quantities, both already checked.
func maxQuantity(a, b string) string {
	qa, qb := resource.MustParse(a), resource.MustParse(b)
	if qa.Cmp(qb) > 0 {
		return a
	}
	return b
}

func sameYAML(a, b *profiles.Profile) bool {
	ja, err1 := a.Marshal()
	jb, err2 := b.Marshal()
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}
