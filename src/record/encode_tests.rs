//! Tests of the video writer on synthetic frames: round trips through both formats, and every bad input.

use std::path::Path;

use super::probe::{decode_frames, probe};
use super::*;

/// A white frame with a `size`-px red square at (x, y) and a blue bar along the bottom.
fn synthetic_frame(w: u32, h: u32, x: u32, y: u32, size: u32) -> Vec<u8> {
    let mut f = vec![255u8; (w * h * 4) as usize];
    for py in 0..h {
        for px in 0..w {
            let i = ((py * w + px) * 4) as usize;
            if px >= x && px < x + size && py >= y && py < y + size {
                f[i..i + 3].copy_from_slice(&[220, 20, 20]);
            } else if py + 6 >= h {
                f[i..i + 3].copy_from_slice(&[30, 60, 200]);
            }
        }
    }
    f
}

fn pixel(frame: &[u8], w: u32, x: u32, y: u32) -> [u8; 3] {
    let i = ((y * w + x) * 4) as usize;
    [frame[i], frame[i + 1], frame[i + 2]]
}

fn close(a: [u8; 3], b: [u8; 3], tol: i32) -> bool {
    (0..3).all(|c| (i32::from(a[c]) - i32::from(b[c])).abs() <= tol)
}

fn write_video(path: &Path, w: u32, h: u32, fps: u32, n: u32) -> std::path::PathBuf {
    let mut writer = VideoWriter::create(path, w, h, fps).unwrap();
    for k in 0..n {
        writer
            .push_frame(&synthetic_frame(w, h, 4 + 3 * k, 8, 16))
            .unwrap();
    }
    writer.finish().unwrap()
}

fn only_file_is(dir: &Path, name: &str) {
    let names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec![name.to_string()], "directory holds {names:?}");
}

#[test]
fn mp4_round_trip_keeps_frames_size_and_colours() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clip.mp4");
    let (w, h) = (96, 64);
    let out = write_video(&path, w, h, 10, 12);
    assert_eq!(out, path);
    only_file_is(dir.path(), "clip.mp4");
    let info = probe(&path).unwrap();
    assert_eq!((info.width, info.height, info.frames), (w, h, 12));
    assert!(
        (info.duration_s - 1.2).abs() < 1e-6,
        "duration {}",
        info.duration_s
    );
    let frames = decode_frames(&path).unwrap();
    assert_eq!(frames.len(), 12);
    let last = &frames[11];
    assert_eq!(last.len(), (w * h * 4) as usize);
    // Square of frame 11 spans x 37..53, y 8..24.
    assert!(
        close(pixel(last, w, 45, 16), [220, 20, 20], 40),
        "{:?}",
        pixel(last, w, 45, 16)
    );
    assert!(
        close(pixel(last, w, 5, 40), [255, 255, 255], 24),
        "{:?}",
        pixel(last, w, 5, 40)
    );
    assert!(
        close(pixel(last, w, 50, h - 2), [30, 60, 200], 40),
        "{:?}",
        pixel(last, w, 50, h - 2)
    );
}

#[test]
fn gif_round_trip_keeps_frames_size_and_colours() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clip.GIF");
    let (w, h) = (80, 50);
    write_video(&path, w, h, 20, 9);
    only_file_is(dir.path(), "clip.GIF");
    let info = probe(&path).unwrap();
    assert_eq!((info.width, info.height, info.frames), (w, h, 9));
    assert!(
        (info.duration_s - 0.45).abs() < 0.011,
        "duration {}",
        info.duration_s
    );
    let frames = decode_frames(&path).unwrap();
    assert_eq!(frames.len(), 9);
    // Few colours: the palette is exact, and differenced frames composite to the source frames.
    for (k, f) in frames.iter().enumerate() {
        assert_eq!(
            f,
            &synthetic_frame(w, h, 4 + 3 * k as u32, 8, 16),
            "frame {k}"
        );
    }
}

#[test]
fn identical_frames_still_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("still.gif");
    let mut writer = VideoWriter::create(&path, 32, 32, 10).unwrap();
    let f = synthetic_frame(32, 32, 2, 2, 8);
    for _ in 0..5 {
        writer.push_frame(&f).unwrap();
    }
    writer.finish().unwrap();
    assert_eq!(probe(&path).unwrap().frames, 5);
}

#[test]
fn background_writer_matches_direct_writer() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (64, 48);
    for ext in ["mp4", "gif"] {
        let direct = dir.path().join(format!("direct.{ext}"));
        write_video(&direct, w, h, 10, 6);
        let threaded = dir.path().join(format!("threaded.{ext}"));
        let mut bg =
            BackgroundWriter::spawn(VideoWriter::create(&threaded, w, h, 10).unwrap(), 2).unwrap();
        for k in 0..6 {
            let mut buf = bg.buffer();
            buf.copy_from_slice(&synthetic_frame(w, h, 4 + 3 * k, 8, 16));
            bg.push_frame(buf).unwrap();
        }
        let done = bg.finish().unwrap();
        assert_eq!((done.path.as_path(), done.frames), (threaded.as_path(), 6));
        assert_eq!(
            std::fs::read(&direct).unwrap(),
            std::fs::read(&threaded).unwrap(),
            "{ext}: the thread must not change the bytes"
        );
    }
}

#[test]
fn bad_formats_sizes_and_rates_are_refused_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let err = |p: &str, w, h, fps| {
        VideoWriter::create(&d.join(p), w, h, fps)
            .err()
            .unwrap()
            .to_string()
    };
    assert!(err("a.avi", 64, 64, 30).contains("must be .mp4 or .gif"));
    assert!(err("noext", 64, 64, 30).contains("must be .mp4 or .gif"));
    assert!(err("a.mp4", 0, 64, 30).contains("at least 1"));
    assert!(err("a.gif", 64, 0, 30).contains("at least 1"));
    assert!(err("a.mp4", 64, 64, 0).contains("frame rate 0"));
    assert!(err("a.mp4", 65, 64, 30).contains("even"));
    assert!(err("a.mp4", 8, 8, 30).contains("16"));
    assert!(err("a.mp4", 4000, 64, 30).contains("3840"));
    assert!(err("a.gif", 64, 64, 60).contains("at most 50"));
    assert!(err("a.gif", 64, 64, 1000).contains("at most 240"));
    // Odd sizes are fine for GIF.
    drop(VideoWriter::create(&d.join("odd.gif"), 33, 17, 30).unwrap());
    assert_eq!(
        std::fs::read_dir(d).unwrap().count(),
        0,
        "nothing left behind"
    );
}

#[test]
fn unwritable_paths_fail_at_create() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/v.mp4");
    let e = VideoWriter::create(&missing, 64, 64, 30).err().unwrap();
    assert!(matches!(e, RecordError::Io { .. }), "{e}");
    assert!(e.to_string().contains("cannot write"), "{e}");
    let as_dir = dir.path().join("taken.gif");
    std::fs::create_dir(&as_dir).unwrap();
    let e = VideoWriter::create(&as_dir, 64, 64, 30).err().unwrap();
    assert!(format!("{:#}", anyhow::Error::new(e)).contains("directory"));
}

#[test]
fn abandoned_or_empty_writers_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for ext in ["mp4", "gif"] {
        let path = dir.path().join(format!("v.{ext}"));
        let mut writer = VideoWriter::create(&path, 32, 32, 10).unwrap();
        writer
            .push_frame(&synthetic_frame(32, 32, 0, 0, 4))
            .unwrap();
        let e = writer.push_frame(&[0u8; 10]).err().unwrap();
        assert!(e.to_string().contains("expected 4096"), "{e}");
        drop(writer);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

        let e = VideoWriter::create(&path, 32, 32, 10)
            .unwrap()
            .finish()
            .err()
            .unwrap();
        assert!(matches!(e, RecordError::NoFrames { .. }));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

        let mut bg =
            BackgroundWriter::spawn(VideoWriter::create(&path, 32, 32, 10).unwrap(), 1).unwrap();
        bg.push_frame(synthetic_frame(32, 32, 0, 0, 4)).unwrap();
        drop(bg);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

#[test]
fn a_full_disk_is_reported_and_cleaned_up() {
    // The encoder writes into /dev/full (every write fails with ENOSPC) while the temp file lives in `dir`:
    // the error names the file and no file, temporary or final, survives.
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        eprintln!("no /dev/full here; skipping");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for ext in ["mp4", "gif"] {
        let path = dir.path().join(format!("full.{ext}"));
        let file = full.try_clone().unwrap();
        // The error may come at create (the MP4 header is flushed at once), at a frame or at finish.
        let result =
            VideoWriter::create_with_sink_file(&path, 64, 64, 10, file).and_then(|mut writer| {
                for k in 0..3 {
                    writer.push_frame(&synthetic_frame(64, 64, k, k, 8))?;
                }
                writer.finish()
            });
        let e = result.err().unwrap();
        assert!(matches!(e, RecordError::Io { .. }), "{e}");
        let msg = format!("{:#}", anyhow::Error::new(e));
        assert!(
            msg.contains(&format!("full.{ext}")) && msg.contains("No space left"),
            "{msg}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

#[test]
fn held_frames_keep_their_wall_clock_duration() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["held.mp4", "held.gif"] {
        let path = dir.path().join(name);
        let mut writer = VideoWriter::create(&path, 32, 32, 10).unwrap();
        // Frames shown for 1, 3 and 2 periods at 10 fps: 3 frames, 0.6 s.
        for (k, periods) in [1u32, 3, 2].into_iter().enumerate() {
            let frame = synthetic_frame(32, 32, 2 + 4 * k as u32, 4, 8);
            writer.push_frame_for(&frame, periods).unwrap();
        }
        assert_eq!(writer.frames(), 3);
        writer.finish().unwrap();
        let info = probe(&path).unwrap();
        assert_eq!(info.frames, 3, "{name}");
        assert!((info.duration_s - 0.6).abs() < 1e-6, "{name}: {info:?}");
        let want = [0.1, 0.3, 0.2];
        assert_eq!(info.frame_durations_s.len(), 3, "{name}");
        for (got, want) in info.frame_durations_s.iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{name}: {info:?}");
        }
    }
}
