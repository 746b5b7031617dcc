// Shared by every kernel. Included after the generated binding header.
// Every 1-D kernel declares @workgroup_size(64) and takes its linear index from linear_id,
// because gpu.program.groups_1d spills past 65535 workgroups into the y dimension.

const WG: u32 = 64u;

fn linear_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}
