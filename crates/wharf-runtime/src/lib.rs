//! wharf-runtime: a container's configuration turned into an **OCI runtime spec** exactly as
//! Docker's daemon does it (moby v26 `oci/defaults.go` + `daemon/oci_linux.go`), ready for
//! youki's libcontainer or runc.
//!
//! - [`generate`]: [`RuntimeConfig`] (plain data) + [`HostInfo`] → `oci_spec::runtime::Spec`.
//! - [`resolve_user`]: `Config.User` + `GroupAdd` against the container's own `/etc/passwd`
//!   and `/etc/group`, read through [`wharf_fs::Root`] (symlinks never leave the rootfs).
//! - Capabilities ([`default_capabilities`], [`tweak_capabilities`]), seccomp
//!   ([`default_seccomp`], [`seccomp_from_profile`]: Docker's profile format with its
//!   conditional rules), security options ([`parse_security_opt`]).
//! - Create-time helpers Docker applies before it stores a container: [`adapt_resources`],
//!   [`verify_resources`], [`normalize_capabilities`], [`daemon_environment`],
//!   [`default_masked_paths`], [`default_readonly_paths`], [`default_cgroupns_mode`].
//! - [`write_bundle`]: `config.json`, atomically.
//!
//! Invariants: no global state; the only host reads are the ones Docker makes while building a
//! spec (`/dev` for privileged containers, device nodes named by the configuration, and the
//! `/proc` facts of [`HostInfo::probe`]); paths inside the container's root filesystem are
//! resolved only through `wharf_fs::Root`.

mod bundle;
mod caps;
mod config;
mod devices;
mod env;
mod error;
mod mounts;
mod resources;
mod seccomp;
mod security;
mod spec;
mod user;

#[cfg(test)]
mod tests;

pub use bundle::{read_bundle, write_bundle, CONFIG_JSON};
pub use caps::{all_capabilities, default_capabilities, normalize_capabilities, tweak_capabilities};
pub use config::{
    go_arch, DeviceMapping, HostInfo, IdMap, IdMappings, MountSpec, MountType, NamespaceMode, NamespaceModes,
    ResolvedUser, Resources, RuntimeConfig, ThrottleDevice, Ulimit, WeightDevice, DEFAULT_SHM_SIZE,
};
pub use env::{daemon_environment, replace_or_append_env, DEFAULT_PATH_ENV};
pub use error::RuntimeError;
pub use resources::{adapt_resources, linux_resources, verify_resources, ResourceSupport};
pub use seccomp::{default_seccomp, default_seccomp_for, default_seccomp_profile_json, seccomp_from_profile};
pub use security::{parse_security_opt, SecurityOptions};
pub use spec::{default_cgroupns_mode, default_masked_paths, default_readonly_paths, generate, INIT_PATH, OCI_VERSION};
pub use user::{resolve_user, resolve_user_from};

/// Re-export of the oci-spec crate whose types this crate returns (the version libcontainer
/// 0.7 uses).
pub use oci_spec;
