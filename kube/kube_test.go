package kube

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/shard"
)

// decoded are the objects of one manifest stream, each decoded strictly.
type decoded struct {
	configMaps []corev1.ConfigMap
	pvcs       []corev1.PersistentVolumeClaim
	jobs       []batchv1.Job
}

// decodeStrict splits a multi-document stream and decodes each document into its k8s.io/api
// type with sigs.k8s.io/yaml.UnmarshalStrict: a field the API does not have (a typo such as
// completionsMode, or a field of a newer API) is an error, as the API server's strict field
// validation would make it.
func decodeStrict(t *testing.T, data []byte) decoded {
	t.Helper()
	var d decoded
	for i, doc := range bytes.Split(data, []byte("\n---\n")) {
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		var err error
		switch tm.APIVersion + "/" + tm.Kind {
		case "v1/ConfigMap":
			var o corev1.ConfigMap
			err = yaml.UnmarshalStrict(doc, &o)
			d.configMaps = append(d.configMaps, o)
		case "v1/PersistentVolumeClaim":
			var o corev1.PersistentVolumeClaim
			err = yaml.UnmarshalStrict(doc, &o)
			d.pvcs = append(d.pvcs, o)
		case "batch/v1/Job":
			var o batchv1.Job
			err = yaml.UnmarshalStrict(doc, &o)
			d.jobs = append(d.jobs, o)
		default:
			t.Fatalf("document %d: unexpected kind %s/%s", i, tm.APIVersion, tm.Kind)
		}
		if err != nil {
			t.Fatalf("document %d (%s): %v", i, tm.Kind, err)
		}
	}
	return d
}

func stripComments(doc []byte) []byte {
	var out [][]byte
	for _, l := range bytes.Split(doc, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) && !bytes.Equal(bytes.TrimSpace(l), []byte("---")) {
			out = append(out, l)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

// checkRun checks what makes the objects work as one sharded run, for n shards.
func checkRun(t *testing.T, d decoded, n int, wantPVC bool) {
	t.Helper()
	if len(d.configMaps) != 1 || len(d.jobs) != 2 || (len(d.pvcs) == 1) != wantPVC {
		t.Fatalf("%d ConfigMaps, %d PVCs, %d Jobs", len(d.configMaps), len(d.pvcs), len(d.jobs))
	}
	cm := d.configMaps[0]
	prof, err := profiles.Parse([]byte(cm.Data["profile.yaml"]), "configmap")
	if err != nil {
		t.Fatalf("the ConfigMap's profile does not parse: %v", err)
	}
	var atk, gate *batchv1.Job
	for i := range d.jobs {
		if d.jobs[i].Spec.CompletionMode != nil && *d.jobs[i].Spec.CompletionMode == batchv1.IndexedCompletion {
			atk = &d.jobs[i]
		} else {
			gate = &d.jobs[i]
		}
	}
	if atk == nil || gate == nil {
		t.Fatal("want one Indexed Job (the shards) and one other (the gate)")
	}
	s := atk.Spec
	if s.Completions == nil || s.Parallelism == nil || int(*s.Completions) != n || int(*s.Parallelism) != n {
		t.Errorf("completions %v, parallelism %v, want both %d", s.Completions, s.Parallelism, n)
	}
	if s.BackoffLimit == nil || int(*s.BackoffLimit) != n {
		t.Errorf("attack backoffLimit %v, want %d (one more pod per shard)", s.BackoffLimit, n)
	}
	if gs := gate.Spec; gs.Suspend == nil || !*gs.Suspend || gs.BackoffLimit == nil || *gs.BackoffLimit != 0 {
		t.Errorf("gate Job must start suspended with backoffLimit 0: %+v", gs)
	}
	for _, job := range []*batchv1.Job{atk, gate} {
		pod := job.Spec.Template.Spec
		if pod.RestartPolicy != corev1.RestartPolicyNever || len(pod.Containers) != 1 {
			t.Fatalf("%s: restartPolicy %q, %d containers; want Never and one", job.Name, pod.RestartPolicy, len(pod.Containers))
		}
		c := pod.Containers[0]
		mounts := map[string]corev1.VolumeMount{}
		for _, m := range c.VolumeMounts {
			mounts[m.Name] = m
		}
		vols := map[string]corev1.Volume{}
		for _, v := range pod.Volumes {
			vols[v.Name] = v
		}
		res := mounts["results"]
		runID := job.Labels[LabelRun]
		if res.MountPath != "/results" || res.SubPath != runID || runID == "" || vols["results"].PersistentVolumeClaim == nil {
			t.Errorf("%s: results mount %+v (run %q), volume %+v", job.Name, res, runID, vols["results"])
		}
		if wantPVC && vols["results"].PersistentVolumeClaim.ClaimName != d.pvcs[0].Name {
			t.Errorf("%s: claim %q, the manifest creates %q", job.Name, vols["results"].PersistentVolumeClaim.ClaimName, d.pvcs[0].Name)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || !c.Resources.Limits.Cpu().IsZero() {
			t.Errorf("%s: requests %v limits %v: want CPU and memory requests and no CPU limit", job.Name, c.Resources.Requests, c.Resources.Limits)
		}
		sc := c.SecurityContext
		if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s: security context %+v: want a non-root user on a read-only root", job.Name, sc)
		}
		if pod.SecurityContext == nil || pod.SecurityContext.FSGroup == nil || *pod.SecurityContext.FSGroup != *sc.RunAsUser {
			t.Errorf("%s: fsGroup must let the non-root user write the results volume", job.Name)
		}
	}
	c := atk.Spec.Template.Spec.Containers[0]
	idx := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == shard.EnvIndex })
	if idx < 0 || c.Env[idx].ValueFrom == nil || c.Env[idx].ValueFrom.FieldRef == nil ||
		c.Env[idx].ValueFrom.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
		t.Errorf("attack env %+v: want %s from the completion-index annotation", c.Env, shard.EnvIndex)
	}
	args := strings.Join(c.Args, " ")
	for _, want := range []string{"attack ", "--shards " + strconv.Itoa(n) + " ", "--start-at ", "--run-id " + atk.Labels[LabelRun] + " ",
		"--profile /etc/stormtest/profile.yaml", "--out /results/shard-$(JOB_COMPLETION_INDEX)-$(POD_NAME).st"} {
		if !strings.Contains(args, want) {
			t.Errorf("attack args %q lack %q", args, want)
		}
	}
	var profVol *corev1.Volume
	for i, v := range atk.Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil {
			profVol = &atk.Spec.Template.Spec.Volumes[i]
		}
	}
	if profVol == nil || profVol.ConfigMap.Name != cm.Name {
		t.Errorf("profile volume %+v, want the ConfigMap %s", profVol, cm.Name)
	}
	if g := gate.Spec.Template.Spec.Containers[0].Args; len(g) == 0 || g[0] != "gate" || g[len(g)-1] != "/results" {
		t.Errorf("gate args %q: want stormtest gate over /results", g)
	}
	if err := prof.Validate(); err != nil {
		t.Errorf("the ConfigMap's profile is not valid: %v", err)
	}
}

func TestBuild(t *testing.T) {
	prof, ok := profiles.Builtin("monday-morning")
	if !ok {
		t.Fatal("no built-in monday-morning")
	}
	start := time.Date(2025, 1, 6, 9, 30, 0, 0, time.UTC)
	cases := []struct {
		name    string
		opt     Options
		wantPVC bool
	}{
		{"defaults", Options{Profile: prof, Target: "http://svc:8080", Shards: 4, Start: start}, true},
		{"existing claim on one node", Options{Profile: prof, Target: "http://svc:8080", Shards: 8, Start: start, PVC: "shared", Node: "n1", Namespace: "load"}, false},
		{"thresholds and storage class", Options{Profile: prof, Target: "http://svc:8080", Shards: 2, Start: start, StorageClass: "efs",
			Thresholds: []string{"p99<500ms"}, AllowPartial: true, CPU: "2", Memory: "2Gi"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Build(tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			data, err := m.YAML()
			if err != nil {
				t.Fatal(err)
			}
			d := decodeStrict(t, data)
			checkRun(t, d, tc.opt.Shards, tc.wantPVC)
			if tc.opt.Node != "" && d.jobs[0].Spec.Template.Spec.NodeSelector["kubernetes.io/hostname"] != tc.opt.Node {
				t.Errorf("node selector %v", d.jobs[0].Spec.Template.Spec.NodeSelector)
			}
			if tc.opt.Namespace != "" && (d.jobs[0].Namespace != tc.opt.Namespace || !strings.Contains(string(data), "kubectl -n load apply")) {
				t.Errorf("namespace %q not applied", tc.opt.Namespace)
			}
			if tc.opt.StorageClass != "" && (d.pvcs[0].Spec.StorageClassName == nil || *d.pvcs[0].Spec.StorageClassName != "efs" ||
				d.pvcs[0].Spec.AccessModes[0] != corev1.ReadWriteMany) {
				t.Errorf("claim %+v", d.pvcs[0].Spec)
			}
			if mem := d.jobs[0].Spec.Template.Spec.Containers[0].Resources.Limits.Memory(); tc.opt.Memory == "2Gi" && mem.String() != "2Gi" {
				t.Errorf("memory limit %s below the 2Gi request", mem)
			}
		})
	}
}

func TestBuildRefuses(t *testing.T) {
	prof, _ := profiles.Builtin("steady")
	secret := *prof
	secret.Request.Headers = map[string]string{"Authorization": "Bearer hunter2"}
	body := *prof
	body.Request.BodyFile = "/tmp/body.json"
	start := time.Date(2025, 1, 6, 9, 30, 0, 0, time.UTC)
	cases := []struct {
		name string
		opt  Options
		want string
	}{
		{"no target", Options{Profile: prof, Shards: 2, Start: start}, "--target is required"},
		{"no shards", Options{Profile: prof, Target: "http://x", Shards: 0, Start: start}, "--shards: shard count 0"},
		{"credentials", Options{Profile: &secret, Target: "http://x", Shards: 2, Start: start}, "sends credentials"},
		{"body file", Options{Profile: &body, Target: "http://x", Shards: 2, Start: start}, "reads files beside it"},
		{"bad quantity", Options{Profile: prof, Target: "http://x", Shards: 2, Start: start, CPU: "two"}, `--cpu "two" is not a Kubernetes quantity`},
		{"bad run id", Options{Profile: prof, Target: "http://x", Shards: 2, Start: start, RunID: "Run_1"}, "--run-id"},
	}
	for _, tc := range cases {
		_, err := Build(tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error %v, want one containing %q (and no secret)", tc.name, err, tc.want)
		}
	}
}

// TestStrictDecodingCatchesUnknownFields: the checker itself refuses a field the API lacks,
// so that a manifest with a typo cannot pass TestBuild or TestCommittedManifests.
func TestStrictDecodingCatchesUnknownFields(t *testing.T) {
	doc := []byte("apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\nspec:\n  completionsMode: Indexed\n  template: {spec: {containers: []}}\n")
	var j batchv1.Job
	if err := yaml.UnmarshalStrict(doc, &j); err == nil || !strings.Contains(err.Error(), "completionsMode") {
		t.Errorf("strict decoding accepted an unknown field: %v", err)
	}
}

// TestCommittedManifests: deploy/kubernetes/run.yaml decodes strictly, works as a sharded
// run, and is exactly what stormtest kube prints for the command in deploy/kubernetes/README.md,
// so it cannot drift from the code.
func TestCommittedManifests(t *testing.T) {
	path := filepath.Join("..", "deploy", "kubernetes", "run.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, decodeStrict(t, data), 4, true)
	prof, err := profiles.Load(filepath.Join("..", "examples", "ci-gate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Build(Options{Profile: prof, Target: "http://orders.staging.svc:8080", Shards: 4,
		Start: time.Date(2025, 1, 6, 9, 30, 0, 0, time.UTC), Image: "stormtest:0.1.0",
		Thresholds: []string{"verdict!=metastable", "p99<500ms"}})
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, want) {
		t.Errorf("%s is not what stormtest kube prints now; regenerate it with the command in deploy/kubernetes/README.md", path)
	}
}

// TestDockerfile checks what the image promises without building it (no daemon needed): a
// multi-stage build of a static binary, a distroless final stage, a non-root user, and an
// exec-form entrypoint, which needs no shell at run time.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var froms []string
	var user, entry string
	static := false
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, f[1])
			user, entry = "", ""
		case "USER":
			user = f[1]
		case "ENTRYPOINT":
			entry = strings.Join(f[1:], " ")
		case "RUN":
			if strings.Contains(l, "CGO_ENABLED=0") && strings.Contains(l, "go build") {
				static = true
			}
		}
	}
	if len(froms) < 2 || !strings.HasPrefix(froms[len(froms)-1], "gcr.io/distroless/static") {
		t.Errorf("stages %q: want a build stage and a distroless static final stage", froms)
	}
	if !static || user == "" || user == "root" || strings.HasPrefix(user, "0") || !strings.HasPrefix(entry, `["`) {
		t.Errorf("static build %v, final USER %q, ENTRYPOINT %q: want CGO_ENABLED=0, a non-root user and exec form", static, user, entry)
	}
}
