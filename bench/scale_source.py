#!/usr/bin/python3
"""bench/scale_source.py — a source following a coordinator (frames read
through the master's virtual dataset, decoded, sent raw) against a source
following one sink (stored chunks sent as they are), end to end:

  vds:   sender -> 3 sharded sink processes -> coordinator -> source -> consumer
  plain: sender -> 1 sink process -> source -> consumer

  /usr/bin/python3 bench/scale_source.py [FRAMES] [vds|plain]

512x1024 uint16 raw frames (1 MiB), tcp on 127.0.0.1; frames/s = frames /
(first send -> the consumer's `end`). Data under /var/tmp/swmrbus-srcbench,
removed at the end. An ad-hoc measurement for README "Scale-out"."""
import os, sys, time, json, socket, subprocess, shutil, zmq, msgpack, numpy as np
HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("SWMRBUS_BIN", os.path.join(HERE, "..", "build", "bin", "swmrbus"))
T="/var/tmp/swmrbus-srcbench"; shutil.rmtree(T, ignore_errors=True); os.makedirs(T)
S=3; N=int(sys.argv[1]) if len(sys.argv)>1 else 600; SHAPE=(512,1024)
mode=sys.argv[2] if len(sys.argv)>2 else "vds"
procs=[]
def run(name, comps):
    p=os.path.join(T,name+".json"); json.dump({"components":comps}, open(p,"w"))
    procs.append(subprocess.Popen([BIN,"run",p,"--log-level","warn"],stderr=open(os.path.join(T,name+".log"),"w")))
def ep():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    return "tcp://127.0.0.1:%d" % p
ins=[];nots=[]
n_s = S if mode=="vds" else 1
for k in range(n_s):
    d=os.path.join(T,"s%d"%k); os.makedirs(d)
    i,n=ep(),ep(); ins.append(i); nots.append(n)
    c=dict(name="sink%d"%k,kind="sink",**{"in":dict(endpoint=i)},notify=dict(endpoint=n),dir=d,flush=dict(frames=100,ms=200),linger_ms=100)
    if mode=="vds": c["shard"]=dict(index=k,count=S)
    run("sink%d"%k,[c])
src_in=nots
dirs=[os.path.join(T,"s0")]
if mode=="vds":
    md=os.path.join(T,"m"); os.makedirs(md); cn=ep()
    run("coord",[dict(name="coord",kind="coordinator",**{"in":dict(endpoints=nots)},notify=dict(endpoint=cn),dir=md,shards=S)])
    src_in=[cn]; dirs=[md]
out=ep()
run("src",[dict(name="src",kind="source",**{"in":dict(endpoints=src_in)},out=dict(endpoint=out),dirs=dirs)])
time.sleep(1.0)
ctx=zmq.Context(); pull=ctx.socket(zmq.PULL); pull.connect(out)
pushes=[]
for i in ins:
    s=ctx.socket(zmq.PUSH); s.setsockopt(zmq.SNDHWM,100000); s.connect(i); pushes.append(s)
time.sleep(0.5)
P=msgpack.packb
pay=np.zeros(SHAPE,dtype="<u2").tobytes()
for s in pushes: s.send(P({"type":"start","series":1,"dtype":"uint16","shape":list(SHAPE),"encoding":"raw"}))
t0=time.time()
for f in range(N):
    pushes[f%len(pushes)].send_multipart([P({"type":"frame","series":1,"frame":f}),pay],copy=False)
for s in pushes: s.send(P({"type":"end","series":1,"frames":N}))
got=0
while True:
    parts=pull.recv_multipart(); h=msgpack.unpackb(parts[0])
    if h["type"]=="frame": got+=1
    if h["type"]=="end": break
t1=time.time()
print(mode, "frames out", got, "%.1f frames/s end to end (sender -> %s -> source -> consumer)"%(got/(t1-t0), "3 shards + coordinator" if mode=="vds" else "1 sink"))
for p in procs: p.terminate()
for p in procs: p.wait()
shutil.rmtree(T, ignore_errors=True)
