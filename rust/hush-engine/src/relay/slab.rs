//! A slab of flows addressed by [`FlowRef`]: slots are reused, and each
//! reuse bumps the slot's generation so stale references miss.

use super::wake::{FlowKind, FlowRef};

pub(crate) struct Slab<T> {
    kind: FlowKind,
    entries: Vec<(u32, Option<T>)>,
    free: Vec<u32>,
    len: usize,
}

impl<T> Slab<T> {
    pub fn new(kind: FlowKind) -> Self {
        Self {
            kind,
            entries: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Reserves a slot and fills it with what `make` builds from its reference.
    pub fn insert_with(&mut self, make: impl FnOnce(FlowRef) -> T) -> FlowRef {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.entries.push((0, None));
                (self.entries.len() - 1) as u32
            }
        };
        let entry = &mut self.entries[slot as usize];
        let flow = FlowRef {
            kind: self.kind,
            slot,
            generation: entry.0,
        };
        entry.1 = Some(make(flow));
        self.len += 1;
        flow
    }

    pub fn get_mut(&mut self, flow: FlowRef) -> Option<&mut T> {
        match self.entries.get_mut(flow.slot as usize) {
            Some((generation, Some(value))) if *generation == flow.generation => Some(value),
            _ => None,
        }
    }

    pub fn remove(&mut self, flow: FlowRef) -> Option<T> {
        let entry = self.entries.get_mut(flow.slot as usize)?;
        if entry.0 != flow.generation {
            return None;
        }
        let value = entry.1.take()?;
        entry.0 = entry.0.wrapping_add(1);
        self.free.push(flow.slot);
        self.len -= 1;
        Some(value)
    }

    /// References to every live entry.
    pub fn refs(&self) -> Vec<FlowRef> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, (_, value))| value.is_some())
            .map(|(slot, (generation, _))| FlowRef {
                kind: self.kind,
                slot: slot as u32,
                generation: *generation,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_reference_misses_the_reused_slot() {
        let mut slab = Slab::new(FlowKind::Tcp);
        let first = slab.insert_with(|_| "first");
        assert_eq!(slab.remove(first), Some("first"));
        let second = slab.insert_with(|_| "second");
        assert_eq!(second.slot, first.slot, "the slot is reused");
        assert_eq!(slab.get_mut(first), None);
        assert_eq!(slab.remove(first), None);
        assert_eq!(slab.get_mut(second).copied(), Some("second"));
        assert_eq!(slab.len(), 1);
        assert_eq!(slab.refs(), vec![second]);
    }
}
