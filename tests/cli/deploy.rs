//! `deploy/`: the Kubernetes manifests are valid against the Kubernetes schemas
//! (`kubernetes-validate` from PyPI, strict), each kustomization renders, the configuration
//! they mount is one m365audit reads, and the shard count, mounts and container agree.
//!
//! `kubernetes-validate` is found as `M365AUDIT_KUBERNETES_VALIDATE`, else on the PATH; the
//! kustomizations are rendered with `kubectl kustomize` when kubectl is installed, else each
//! resource file is validated on its own. What is missing is said in one line; CI installs
//! the validator and sets `M365AUDIT_REQUIRE_KUBERNETES_VALIDATE`, so there it cannot be
//! skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{TempDir, code, m365audit, root, stderr, stdout};

/// The Kubernetes version the manifests are written for (`backoffLimitPerIndex` is GA in it).
const KUBERNETES: &str = "1.33.0";

const KUSTOMIZATIONS: [&str; 2] = [
    "deploy/kubernetes/base",
    "deploy/kubernetes/overlays/single-node",
];

fn validator() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("M365AUDIT_KUBERNETES_VALIDATE") {
        return Some(PathBuf::from(p));
    }
    let found = Command::new("kubernetes-validate")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(PathBuf::from("kubernetes-validate"));
    }
    assert!(
        std::env::var_os("M365AUDIT_REQUIRE_KUBERNETES_VALIDATE").is_none(),
        "M365AUDIT_REQUIRE_KUBERNETES_VALIDATE is set but kubernetes-validate is not installed"
    );
    None
}

/// `kubectl kustomize DIR`, when kubectl is installed.
fn kustomize(dir: &Path) -> Option<String> {
    let o = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .ok()?;
    assert!(
        o.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    Some(String::from_utf8_lossy(&o.stdout).into_owned())
}

fn validate(validator: &Path, files: &[PathBuf]) {
    let o = Command::new(validator)
        .args(["--strict", "--kubernetes-version", KUBERNETES])
        .args(files)
        .output()
        .expect("kubernetes-validate runs");
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "kubernetes-validate: {out}");
    assert!(!out.contains("ERROR"), "{out}");
}

#[test]
fn the_manifests_are_valid_kubernetes() {
    let Some(validator) = validator() else {
        eprintln!(
            "skipped the_manifests_are_valid_kubernetes: kubernetes-validate is not installed \
             (pip install kubernetes-validate, or set M365AUDIT_KUBERNETES_VALIDATE)"
        );
        return;
    };
    let tmp = TempDir::new("deploy");
    for k in KUSTOMIZATIONS {
        let dir = root().join(k);
        match kustomize(&dir) {
            Some(rendered) => {
                for kind in [
                    "CronJob",
                    "ConfigMap",
                    "PersistentVolumeClaim",
                    "ServiceAccount",
                ] {
                    assert!(rendered.contains(&format!("kind: {kind}")), "{k}: {kind}");
                }
                let file = tmp.write(&format!("{}.yaml", k.replace('/', "_")), rendered);
                validate(&validator, &[file]);
            }
            None => {
                eprintln!(
                    "{k}: kubectl is not installed, so the kustomization is not rendered; its resource files are validated one by one"
                );
                let files: Vec<PathBuf> = std::fs::read_dir(&dir)
                    .expect("the kustomization's folder")
                    .map(|e| e.expect("entry").path())
                    .filter(|p| {
                        p.extension().is_some_and(|e| e == "yaml")
                            && !p.ends_with("kustomization.yaml")
                            // Patches are partial resources: valid only once merged.
                            && !std::fs::read_to_string(p).unwrap_or_default().contains("$patch")
                    })
                    .collect();
                if !files.is_empty() {
                    validate(&validator, &files);
                }
            }
        }
    }
}

/// Each kustomization's m365audit.toml is a configuration m365audit reads (`plan` loads it
/// whole, [[tenants]] and [store] included, and scans the demo tenant with it).
#[test]
fn the_mounted_configuration_is_one_m365audit_reads() {
    for k in KUSTOMIZATIONS {
        let config = root().join(k).join("m365audit.toml");
        let o = m365audit([
            "plan",
            "--config",
            &config.display().to_string(),
            &root().join("examples/demo-tenant").display().to_string(),
            "--format",
            "json",
        ]);
        assert_eq!(code(&o), 0, "{k}: {}", stderr(&o));
        assert!(stdout(&o).contains("m365audit/plan/v1"));
    }
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).expect(rel)
}

/// What must agree between the files: the shard count, the mounts the configuration's paths
/// are under, and a container that runs as non-root without a shell.
#[test]
fn the_shards_mounts_and_container_agree() {
    let cronjob = read("deploy/kubernetes/base/cronjob.yaml");
    let number = |pattern: &str| -> Vec<String> {
        regex::Regex::new(pattern)
            .expect("a pattern")
            .captures_iter(&cronjob)
            .map(|c| c[1].to_string())
            .collect()
    };
    let completions = number(r"\n\s+completions: (\d+)");
    let parallelism = number(r"\n\s+parallelism: (\d+)");
    let shards = number(r"\$\(JOB_COMPLETION_INDEX\)/(\d+)");
    assert_eq!(completions.len(), 1);
    assert_eq!(completions, parallelism, "one pod per completion");
    assert_eq!(completions, shards, "--shard I/N with N the completions");
    assert!(cronjob.contains("completionMode: Indexed"));

    let mounts = number(r"mountPath: (\S+)");
    let config = read("deploy/kubernetes/base/m365audit.toml");
    for path in regex::Regex::new(r#""(/[^"]+)""#)
        .expect("a pattern")
        .captures_iter(&config)
        .map(|c| c[1].to_string())
    {
        assert!(
            mounts.iter().any(|m| path.starts_with(m.as_str())),
            "{path} (m365audit.toml) is under no mountPath of the CronJob: {mounts:?}"
        );
    }
    for needle in [
        "runAsNonRoot: true",
        "readOnlyRootFilesystem: true",
        "allowPrivilegeEscalation: false",
        "automountServiceAccountToken: false",
    ] {
        assert!(cronjob.contains(needle), "{needle}");
    }

    let dockerfile = read("deploy/Dockerfile");
    let stages: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert_eq!(stages.len(), 2, "a build stage and a shipped stage");
    assert!(
        stages[1].contains("distroless") && stages[1].ends_with(":nonroot"),
        "a minimal, non-root base without a shell: {}",
        stages[1]
    );
    assert!(dockerfile.contains("\nUSER 65532:65532\n"));
    assert!(dockerfile.contains("ENTRYPOINT [\"/usr/local/bin/m365audit\"]"));
    assert!(
        dockerfile.contains("--locked -p m365audit"),
        "only the product is built"
    );
}
