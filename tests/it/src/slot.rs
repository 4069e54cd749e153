//! Reservations that keep concurrent daemons apart: a bridge name, an IPv4 subnet and a cgroup
//! parent per daemon, held by an exclusive `flock` on a slot file (released by the kernel when
//! the test process ends, however it ends).

use std::fs::File;
use std::path::Path;

/// One reserved slot.
#[derive(Debug)]
pub struct Slot {
    /// Slot number.
    pub index: u32,
    /// A bridge name no other daemon of ours uses (≤ 15 bytes).
    pub bridge: String,
    /// A /24 no other daemon of ours uses.
    pub subnet: String,
    /// A cgroup parent no other daemon of ours uses.
    pub cgroup_parent: String,
    _lock: File,
}

const SLOTS: u32 = 4096;

impl Slot {
    /// Reserves the first free slot.
    pub fn reserve() -> Slot {
        let dir = Path::new("/tmp/wharf-it-slots");
        std::fs::create_dir_all(dir).expect("slot dir");
        let start = std::process::id() % SLOTS;
        for k in 0..SLOTS {
            let index = (start + k) % SLOTS;
            let Ok(file) =
                File::options().create(true).truncate(false).write(true).open(dir.join(format!("slot-{index}")))
            else {
                continue;
            };
            if rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_ok() {
                return Slot {
                    index,
                    bridge: format!("whit{index}"),
                    subnet: format!("10.{}.{}.0/24", 160 + index / 256, index % 256),
                    cgroup_parent: format!("wharf-it-{index}"),
                    _lock: file,
                };
            }
        }
        panic!("no free test slot in /tmp/wharf-it-slots");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_distinct_while_held() {
        let a = Slot::reserve();
        let b = Slot::reserve();
        assert_ne!(a.index, b.index);
        assert_ne!(a.bridge, b.bridge);
        assert_ne!(a.subnet, b.subnet);
        assert!(a.bridge.len() <= 15);
    }
}
