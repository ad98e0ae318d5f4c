//! Lane commands arrive in order and are refused (not lost) when the mailbox is full;
//! the shutdown flag is shared by clones and stays set.

use kestrel_bus::{COMMAND_SLOT_CAPACITY, CommandSlot, LaneCommand, ShutdownFlag};
use kestrel_types::U256;

#[test]
fn commands_arrive_in_send_order_across_clones() {
    let lane = CommandSlot::new();
    let ui = lane.clone();
    let min = U256::from(10_u64).pow(U256::from(15_u64));
    ui.send(LaneCommand::Pause).expect("room");
    ui.send(LaneCommand::SetMinProfitWei(min)).expect("room");
    ui.send(LaneCommand::Resume).expect("room");
    assert_eq!(lane.len(), 3);
    assert_eq!(lane.try_recv(), Some(LaneCommand::Pause));
    assert_eq!(lane.try_recv(), Some(LaneCommand::SetMinProfitWei(min)));
    assert_eq!(lane.try_recv(), Some(LaneCommand::Resume));
    assert_eq!(lane.try_recv(), None);
}

#[test]
fn a_full_slot_hands_the_command_back() {
    let slot = CommandSlot::new();
    for _ in 0..COMMAND_SLOT_CAPACITY {
        slot.send(LaneCommand::Pause).expect("room");
    }
    assert_eq!(slot.send(LaneCommand::Stop), Err(LaneCommand::Stop));
    assert_eq!(slot.try_recv(), Some(LaneCommand::Pause));
    slot.send(LaneCommand::Stop).expect("a receive freed room");
    assert_eq!(COMMAND_SLOT_CAPACITY, 64);
}

#[test]
fn shutdown_flag_is_shared_and_sticky() {
    let flag = ShutdownFlag::new();
    let lane = flag.clone();
    assert!(!lane.is_set());
    let worker = std::thread::spawn(move || {
        while !lane.is_set() {
            std::thread::yield_now();
        }
        lane.is_set()
    });
    flag.trigger();
    assert!(worker.join().expect("worker panicked"));
    flag.trigger();
    assert!(flag.is_set());
}
