//! Worker processes: where librrd's create, update and graph calls run.
//!
//! librrd writes through `mmap`, and every `mmap`/`munmap` takes its
//! process's address-space lock, so threads of one process store no
//! faster than one thread: 20,000 updates took 0.74 s on one thread and
//! 1.1 s on two (2-vCPU VM), while two single-threaded `rrdtool -`
//! processes did them in 0.42 s. So the master starts one worker process
//! per CPU (`munin-master worker`, single-threaded) and hands each a
//! host's fields at a time, as one JSON line on its stdin, with the next
//! host's line already written behind it (`IN_FLIGHT`); the worker
//! answers each with one JSON line of outcomes, in order. A worker that
//! dies fails over to storing in the master itself: slower, never lost.
//! librrd's graph keeps global state and is no more thread-safe, so the
//! HTML step hands its graphs to the same kind of worker, a batch per
//! line, and `serve` its any-range graphs and data exports.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::rrdfile::{self, Outcome};
use crate::master::librrd::{GraphInfo, Xported};
use crate::master::poll::plan::FieldPlan;
use crate::master::site::render::{self, Draw};

/// One host's fields to store.
#[derive(Debug, Serialize, Deserialize)]
pub struct Job {
    pub step: u64,
    /// The master's clock at fetch time, for values without one.
    pub now: u64,
    pub fields: Vec<FieldPlan>,
    /// Only make the files ready (created, tuned): their values go
    /// through rrdcached.
    #[serde(default)]
    pub prepare_only: bool,
}

/// A [`Job`] as the master writes it: the fields borrowed from the
/// host's plan, never copied. The same JSON as `Task::Store(Job)`.
#[derive(Debug, Serialize)]
pub enum JobRef<'a> {
    Store {
        step: u64,
        now: u64,
        fields: Vec<&'a FieldPlan>,
        prepare_only: bool,
    },
}

impl<'a> JobRef<'a> {
    fn fields(&self) -> &[&'a FieldPlan] {
        let JobRef::Store { fields, .. } = self;
        fields
    }

    /// The job as a worker reads it, its fields copied.
    fn owned(&self) -> Job {
        let JobRef::Store {
            step,
            now,
            fields,
            prepare_only,
        } = self;
        Job {
            step: *step,
            now: *now,
            fields: fields.iter().map(|f| (*f).clone()).collect(),
            prepare_only: *prepare_only,
        }
    }
}

/// What happened to one field, and how long librrd took.
#[derive(Debug, Serialize, Deserialize)]
pub struct Done {
    pub outcome: Result<Outcome, String>,
    pub micros: u64,
}

/// Stores every field of `job` here, on this thread.
pub fn store_here(job: &Job) -> Vec<Done> {
    job.fields
        .iter()
        .map(|f| {
            let t = Instant::now();
            let outcome = if job.prepare_only {
                rrdfile::prepare(f, job.step, job.now)
            } else {
                rrdfile::store(f, job.step, job.now)
            };
            Done {
                outcome,
                micros: t.elapsed().as_micros() as u64,
            }
        })
        .collect()
}

/// What a worker is asked to do.
#[derive(Debug, Serialize, Deserialize)]
pub enum Task {
    Store(Job),
    Draw(Vec<Draw>),
    /// `rrdtool xport` arguments: a graph's data, for `serve`.
    Export(Vec<String>),
}

/// A worker's answer, one per task.
#[derive(Debug, Serialize, Deserialize)]
pub enum Answer {
    Stored(Vec<Done>),
    Drawn(Vec<Result<GraphInfo, String>>),
    Exported(Result<Xported, String>),
    /// A line that was no task (cannot happen between matching binaries).
    Refused(String),
}

impl Answer {
    fn len(&self) -> usize {
        match self {
            Answer::Stored(d) => d.len(),
            Answer::Drawn(d) => d.len(),
            Answer::Exported(_) => 1,
            Answer::Refused(_) => 0,
        }
    }
}

/// Does `task` here, on this thread.
fn perform(task: &Task) -> Answer {
    match task {
        Task::Store(job) => Answer::Stored(store_here(job)),
        Task::Draw(draws) => Answer::Drawn(draws.iter().map(render::draw).collect()),
        Task::Export(args) => Answer::Exported(crate::master::librrd::xport(args)),
    }
}

/// The worker's side (`munin-master worker`): a task per line in, its
/// answer per line out, until stdin closes.
pub fn serve(input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
    for line in input.lines() {
        let line = line?;
        let done = match serde_json::from_str::<Task>(&line) {
            Ok(task) => perform(&task),
            Err(e) => Answer::Refused(format!("worker: bad task: {e}")),
        };
        serde_json::to_writer(&mut output, &done)?;
        output.write_all(b"\n")?;
        output.flush()?;
    }
    Ok(())
}

/// A task as a worker reads it: one line of JSON.
type Line = Arc<Vec<u8>>;

/// `task` as its line; `None` when serde cannot write it (a path that is
/// no UTF-8, which no plan makes): the task is then done here.
fn encode(task: &impl Serialize) -> Option<Line> {
    let mut line = serde_json::to_vec(task).ok()?;
    line.push(b'\n');
    Some(Arc::new(line))
}

type Request = (Line, Reply);

/// Does `task` in this process, on a blocking thread.
async fn perform_here(task: Task) -> Answer {
    tokio::task::spawn_blocking(move || perform(&task))
        .await
        .unwrap_or_else(|e| Answer::Refused(e.to_string()))
}

/// The master's side: a queue of jobs served by the worker processes.
pub struct Pool {
    queue: Option<mpsc::Sender<Request>>,
}

impl Pool {
    /// No workers: every job is stored in this process.
    pub fn local() -> Pool {
        Pool { queue: None }
    }

    /// Starts `n` workers running `exe worker`; on failure to start any,
    /// says why and works locally.
    pub fn start(exe: PathBuf, n: usize) -> Pool {
        if n == 0 {
            return Pool::local();
        }
        let (tx, rx) = mpsc::channel::<Request>(n * 2);
        let rx = Arc::new(Mutex::new(rx));
        let mut started = 0;
        for i in 0..n {
            let child = Command::new(&exe)
                .arg("worker")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .kill_on_drop(true)
                .spawn();
            match child {
                Ok(mut child) => {
                    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take())
                    else {
                        continue;
                    };
                    started += 1;
                    tokio::spawn(work(i, child, stdin, stdout, rx.clone()));
                }
                Err(e) => {
                    tracing::warn!(
                        "cannot start worker {}: {e}; working in this process",
                        exe.display()
                    );
                    break;
                }
            }
        }
        Pool {
            queue: (started > 0).then_some(tx),
        }
    }

    /// Does `task` in a worker, or here when no worker can: the answer
    /// has one outcome per field or graph either way.
    async fn perform(&self, task: Task) -> Answer {
        let wanted = match &task {
            Task::Store(job) => job.fields.len(),
            Task::Draw(draws) => draws.len(),
            Task::Export(_) => 1,
        };
        match encode(&task) {
            Some(line) => self.perform_line(line, wanted).await,
            None => perform_here(task).await,
        }
    }

    /// [`Pool::perform`] of a task already written as its line; done here,
    /// the line is read back (the rare way: no worker could).
    async fn perform_line(&self, line: Line, wanted: usize) -> Answer {
        if let Some(queue) = &self.queue {
            let (reply, answer) = oneshot::channel();
            if queue.send((line.clone(), reply)).await.is_ok() {
                match answer.await {
                    Ok(Ok(a @ (Answer::Stored(_) | Answer::Drawn(_) | Answer::Exported(_))))
                        if a.len() == wanted =>
                    {
                        return a;
                    }
                    Ok(Ok(_)) => tracing::warn!("worker: wrong answer; working here"),
                    Ok(Err(e)) => tracing::warn!("{e}; working here"),
                    Err(_) => {}
                }
            }
        }
        tokio::task::spawn_blocking(move || match serde_json::from_slice::<Task>(&line) {
            Ok(task) => perform(&task),
            Err(e) => Answer::Refused(format!("worker: bad task: {e}")),
        })
        .await
        .unwrap_or_else(|e| Answer::Refused(e.to_string()))
    }

    /// Stores `job` in a worker, or here when no worker can: one outcome
    /// per field either way (an error for each when nothing could store
    /// them, so none goes uncounted).
    pub async fn store(&self, job: JobRef<'_>) -> Vec<Done> {
        let fields = job.fields();
        let answer = match encode(&job) {
            Some(line) => self.perform_line(line, fields.len()).await,
            // What serde cannot write for a worker, it cannot either
            // the second time: done here at once.
            None => perform_here(Task::Store(job.owned())).await,
        };
        let why = match answer {
            Answer::Stored(done) if done.len() == fields.len() => return done,
            Answer::Stored(done) => format!(
                "not stored: {} outcomes came back for {} fields",
                done.len(),
                fields.len()
            ),
            Answer::Refused(e) => format!("not stored: {e}"),
            _ => "not stored: the worker answered another task".to_string(),
        };
        fields
            .iter()
            .map(|f| Done {
                outcome: Err(format!("{}: {why}", f.path.display())),
                micros: 0,
            })
            .collect()
    }

    /// Draws `draws` in a worker, or here when no worker can.
    pub async fn draw(&self, draws: Vec<Draw>) -> Vec<Result<GraphInfo, String>> {
        let n = draws.len();
        match self.perform(Task::Draw(draws)).await {
            Answer::Drawn(done) => done,
            other => vec![Err(format!("worker: {other:?}")); n],
        }
    }

    /// Runs `rrdtool xport ARGS` in a worker, or here when no worker can.
    pub async fn export(&self, args: Vec<String>) -> Result<Xported, String> {
        match self.perform(Task::Export(args)).await {
            Answer::Exported(done) => done,
            other => Err(format!("worker: {other:?}")),
        }
    }
}

/// How many tasks a worker holds at once: the one it is doing and the
/// next, already in its pipe. With one, a worker slept between tasks
/// until the master had read its answer and written the next; a process
/// that sleeps may wake on the other CPU, and librrd's `munmap` must then
/// flush the TLB of the CPU it left too (`smp_call_function_many_cond`
/// in a profile of the workers, absent from single-threaded `rrdtool -`).
const IN_FLIGHT: usize = 2;

type Reply = oneshot::Sender<Result<Answer, String>>;

/// One worker's loop: takes tasks off the queue, up to [`IN_FLIGHT`] at
/// once, until it closes or the worker dies (the task then being done is
/// answered with the error, those behind it go unanswered, and the
/// master does them itself).
async fn work(
    i: usize,
    mut child: Child,
    mut stdin: ChildStdin,
    stdout: ChildStdout,
    queue: Arc<Mutex<mpsc::Receiver<Request>>>,
) {
    // The replies of the tasks written, in the order the worker answers.
    let (sent, mut written) = mpsc::channel::<Reply>(IN_FLIGHT - 1);
    let writer = async move {
        // A slot is taken before the task, so a worker never holds a task
        // it cannot start soon while another worker waits for one.
        while let Ok(slot) = sent.reserve().await {
            let Some((task, reply)) = queue.lock().await.recv().await else {
                break;
            };
            let wrote = async {
                stdin.write_all(&task).await?;
                stdin.flush().await
            }
            .await;
            match wrote {
                Ok(()) => slot.send(reply),
                Err(e) => {
                    let _ = reply.send(Err(format!("worker {i}: {e}")));
                    break;
                }
            }
        }
        // The worker reads its end of input and exits.
        drop(stdin);
    };
    let reader = async move {
        let mut lines = BufReader::new(stdout).lines();
        while let Some(reply) = written.recv().await {
            let answer = async {
                let back = lines
                    .next_line()
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| "exited".to_string())?;
                serde_json::from_str::<Answer>(&back).map_err(|e| e.to_string())
            }
            .await
            .map_err(|e| format!("worker {i}: {e}"));
            let failed = answer.is_err();
            let _ = reply.send(answer);
            if failed {
                // Dropping `written` ends the writer's next reservation.
                break;
            }
        }
    };
    tokio::join!(writer, reader);
    // Reaped, so no zombie outlives a long-running caller.
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_borrowed_job_is_written_as_the_worker_reads_a_job() {
        let mut f = FieldPlan::load_gauge("/x/h-load-load-g.rrd".into());
        f.value = Some((Some(1_700_000_000), "1.5".into()));
        f.earlier = vec![(1_699_999_700, "1".into())];
        f.min = Some("0".into());
        f.tune = true;
        let line = encode(&JobRef::Store {
            step: 300,
            now: 7,
            fields: vec![&f],
            prepare_only: true,
        })
        .expect("a UTF-8 path is written");
        let Task::Store(job) = serde_json::from_slice::<Task>(&line).unwrap() else {
            panic!("not a store task");
        };
        assert_eq!((job.step, job.now, job.prepare_only), (300, 7, true));
        // All a worker reads; the plugin and graph stay in the master.
        let text = String::from_utf8(line.to_vec()).unwrap();
        assert!(
            !text.contains("plugin") && !text.contains("service"),
            "{text}"
        );
        f.plugin = "".into();
        f.service = "".into();
        assert_eq!(job.fields, vec![f.clone()]);
        // What is unset is left out, and read back as unset.
        let bare = FieldPlan::load_gauge("/x/h-load-load-g.rrd".into());
        let text = serde_json::to_string(&bare).unwrap();
        assert_eq!(
            text,
            r#"{"field":"load","path":"/x/h-load-load-g.rrd","ds":"Gauge"}"#
        );
        let mut back: FieldPlan = serde_json::from_str(&text).unwrap();
        (back.plugin, back.service) = (bare.plugin.clone(), bare.service.clone());
        assert_eq!(back, bare);
    }

    /// A worker that dies holding tasks (the one it read, and the one
    /// written behind it) loses none: each is stored by the master.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tasks_a_dying_worker_held_are_stored_here() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        // Takes one task, then exits without an answer.
        let exe = dir.path().join("dies");
        std::fs::write(&exe, "#!/bin/sh\nhead -n 1 >/dev/null\nexit 3\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let pool = Arc::new(Pool::start(exe, 1));
        let fields: Vec<FieldPlan> = (0..4)
            .map(|i| {
                let mut f = FieldPlan::load_gauge(dir.path().join(format!("h{i}-load-load-g.rrd")));
                f.value = Some((Some(1_700_000_000), format!("{i}.5")));
                f
            })
            .collect();
        let fields = Arc::new(fields);
        let mut stores = tokio::task::JoinSet::new();
        for i in 0..fields.len() {
            let (pool, fields) = (pool.clone(), fields.clone());
            stores.spawn(async move {
                let job = JobRef::Store {
                    step: 300,
                    now: 1_700_000_000,
                    fields: vec![&fields[i]],
                    prepare_only: false,
                };
                pool.store(job).await
            });
        }
        while let Some(done) = stores.join_next().await {
            let done = done.unwrap();
            assert_eq!(done.len(), 1);
            let o = done[0].outcome.as_ref().expect("stored");
            assert!(o.created && o.updated, "{o:?}");
        }
        for f in fields.iter() {
            assert!(std::fs::metadata(&f.path).unwrap().len() > 0);
        }
    }

    #[test]
    fn a_bad_task_line_is_answered_not_fatal() {
        let mut out = Vec::new();
        serve(
            &b"not json\n{\"Store\":{\"step\":60,\"now\":1,\"fields\":[]}}\n{\"Draw\":[]}\n"[..],
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].contains("bad task"), "{}", lines[0]);
        assert_eq!(lines[1], r#"{"Stored":[]}"#);
        assert_eq!(lines[2], r#"{"Drawn":[]}"#);
    }
}
