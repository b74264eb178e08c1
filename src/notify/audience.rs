//! Who hears about a workshop: the followers of its artists (a `reactions` document
//! with `entity_type: "ARTIST"`, `reaction: "NOTIFY"`, not deleted), each user once,
//! and their active devices. Read through `store::audience`.

pub use crate::store::audience::{active_devices, devices_of, Device, Follower, FollowerStream};
