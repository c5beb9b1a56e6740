// openloop: a reference for what this machine and target can do at a fixed rate, without Go.
//
// One thread, epoll, CONNS keep-alive HTTP/1.1 connections opened before the run and never
// more: at each scheduled time a request goes out on an idle connection (or waits for one,
// which counts as lag); it prints the service time (send to whole response) and the lag
// (schedule to send) percentiles. Used to tell the generator's stalls from the target's
// (docs/performance.md, "The pacer held a processor"). Not part of the build or the tests.
//
//   cc -O2 -o openloop bench/openloop/openloop.c
//   ./openloop RATE SECONDS CONNS PORT      (GET / on 127.0.0.1:PORT; small responses only)
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
static long ns(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1000000000L+t.tv_nsec;}
int cmp(const void*a,const void*b){long x=*(long*)a,y=*(long*)b;return x<y?-1:x>y;}
#define N 256
int fds[N]; long sentat[N]; int busy[N]; char rbuf[N][4097]; int rlen[N];
int idle[N]; int nidle=0;
int main(int argc,char**argv){
  if(argc<5){fprintf(stderr,"usage: openloop RATE SECONDS CONNS PORT\n");return 2;}
  double rate=atof(argv[1]); double secs=atof(argv[2]); int conns=atoi(argv[3]); int port=atoi(argv[4]);
  if(conns<1||conns>N){fprintf(stderr,"CONNS must be 1..%d\n",N);return 2;}
  const char*req="GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"; int rl=strlen(req);
  int ep=epoll_create1(0);
  struct sockaddr_in a={0}; a.sin_family=AF_INET; a.sin_port=htons(port); inet_pton(AF_INET,"127.0.0.1",&a.sin_addr);
  for(int i=0;i<conns;i++){fds[i]=socket(AF_INET,SOCK_STREAM,0);int one=1;setsockopt(fds[i],IPPROTO_TCP,TCP_NODELAY,&one,4);
    if(connect(fds[i],(void*)&a,sizeof a)<0){perror("connect");return 1;}
    fcntl(fds[i],F_SETFL,O_NONBLOCK); struct epoll_event e={.events=EPOLLIN,.data.u32=i}; epoll_ctl(ep,EPOLL_CTL_ADD,fds[i],&e); idle[nidle++]=i;}
  long total=(long)(rate*secs); long *svc=malloc(total*sizeof(long)), *lag=malloc(total*sizeof(long)); long nsvc=0,nlag=0;
  long start=ns(); long interval=(long)(1e9/rate); long k=0; long done=0;
  long pending_due[65536]; int ph=0,pt=0; // due times waiting for a free connection
  while(done<total){
    long now=ns()-start;
    while(k<total && k*interval<=now){pending_due[pt++&65535]=k*interval;k++;}
    while(ph!=pt && nidle>0){int i=idle[--nidle]; long due=pending_due[ph++&65535]; long t=ns()-start; lag[nlag++]=t-due; sentat[i]=t; busy[i]=1; rlen[i]=0; if(write(fds[i],req,rl)!=rl){perror("write");return 1;}}
    long wait_ms=0; if(k<total){long d=k*interval-(ns()-start); wait_ms = d>0? d/1000000 : 0;} 
    struct epoll_event ev[64]; int n=epoll_wait(ep,ev,64,(ph!=pt||k>=total)? (k>=total?10:0) : (int)wait_ms);
    for(int j=0;j<n;j++){int i=ev[j].data.u32; int r=read(fds[i],rbuf[i]+rlen[i],4096-rlen[i]); if(r<=0){if(r<0&&errno==EAGAIN)continue; fprintf(stderr,"read %d\n",r);return 1;}
      rlen[i]+=r; rbuf[i][rlen[i]]=0; char*h=strstr(rbuf[i],"\r\n\r\n"); if(!h)continue; char*cl=strcasestr(rbuf[i],"Content-Length:"); int len=cl?atoi(cl+15):0;
      if(rlen[i] >= (h-rbuf[i])+4+len){svc[nsvc++]=ns()-start-sentat[i]; busy[i]=0; idle[nidle++]=i; done++;}}
    if(wait_ms==0 && k<total && ph==pt){ /* spin-free short wait */ struct timespec s={0,20000}; nanosleep(&s,0);} 
  }
  qsort(svc,nsvc,sizeof(long),cmp); qsort(lag,nlag,sizeof(long),cmp);
  printf("rate %.0f: n=%ld service p50 %.0fus p99 %.0fus max %.1fms | lag p50 %.0fus p99 %.0fus max %.1fms\n",rate,nsvc,svc[nsvc/2]/1e3,svc[nsvc*99/100]/1e3,svc[nsvc-1]/1e6,lag[nlag/2]/1e3,lag[nlag*99/100]/1e3,lag[nlag-1]/1e6);
}
